package org.ringwarden.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * On a test class or method: it needs io_uring rings made by this (root) process. Under
 * {@code kernel.io_uring_disabled=2} nobody may make one, not even root: the test is skipped,
 * with the reason printed. Under 0 and 1 (what docs/install.md recommends; root has
 * CAP_SYS_ADMIN) it runs. The daemon module's {@code IoUringDisabledTest} sets each value once.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresRings.Condition.class)
public @interface RequiresRings {
    /** The condition: the sysctl read as the test starts. */
    final class Condition implements ExecutionCondition {
        private static final Path DISABLED = Path.of("/proc/sys/kernel/io_uring_disabled");

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            try {
                if (!Files.exists(DISABLED) || !Files.readString(DISABLED).strip().equals("2")) {
                    return ConditionEvaluationResult.enabled("root may create rings here");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            String why = "kernel.io_uring_disabled=2: no process may create io_uring rings, not even root, and this test needs one";
            System.out.println("SKIPPED " + context.getDisplayName() + ": " + why);
            return ConditionEvaluationResult.disabled(why);
        }
    }
}
