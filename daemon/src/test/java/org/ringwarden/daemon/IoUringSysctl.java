package org.ringwarden.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * {@code kernel.io_uring_disabled} for tests: what it is, setting it (and back), and
 * {@link RequiresRings}, which skips a test that needs a ring made by this (root) process, with
 * the reason printed, where the kernel lets nobody make one. docs/install.md recommends 1: root
 * (CAP_SYS_ADMIN) still makes rings there, so under 0 and 1 those tests run; under 2 nobody
 * may, and they are skipped. {@code IoUringDisabledTest} runs them under each value.
 */
public final class IoUringSysctl {
    public static final Path DISABLED = Path.of("/proc/sys/kernel/io_uring_disabled");

    private IoUringSysctl() {
    }

    /** The value, or empty on a kernel before 6.6 (no such sysctl: everyone may make rings). */
    public static OptionalInt disabled() {
        try {
            return Files.exists(DISABLED) ? OptionalInt.of(Integer.parseInt(Files.readString(DISABLED).strip()))
                    : OptionalInt.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@code value} (root only). */
    public static void set(int value) throws IOException {
        Files.writeString(DISABLED, Integer.toString(value));
    }

    /** Why a root-made ring is impossible here, or null when root may make rings. */
    public static String whyNoRootRings() {
        OptionalInt v = disabled();
        return v.isPresent() && v.getAsInt() == 2
                ? "kernel.io_uring_disabled=2: no process may create io_uring rings, not even root, and this test needs one"
                : null;
    }

    /** On a test class or method: it needs rings made by this process (root); skipped, with the reason printed, where none can be. */
    @Target({ElementType.TYPE, ElementType.METHOD})
    @Retention(RetentionPolicy.RUNTIME)
    @ExtendWith(RingsCondition.class)
    public @interface RequiresRings {
    }

    /** The condition behind {@link RequiresRings}. */
    public static final class RingsCondition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String why = whyNoRootRings();
            if (why == null) {
                return ConditionEvaluationResult.enabled("root may create rings here");
            }
            // Printed too: a skipped test's reason is otherwise only in the reports.
            System.out.println("SKIPPED " + context.getDisplayName() + ": " + why);
            return ConditionEvaluationResult.disabled(why);
        }
    }
}
