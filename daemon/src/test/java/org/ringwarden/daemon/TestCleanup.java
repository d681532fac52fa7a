package org.ringwarden.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

/**
 * What an {@code @AfterAll} does with what its {@code @BeforeAll} set up: close each thing in
 * order, every one even when an earlier one fails (a {@code kernel.io_uring_disabled} left
 * changed would break the next test class), and skip those never made (a {@code @BeforeAll}
 * that stopped half-way leaves later fields null).
 */
public final class TestCleanup {
    private TestCleanup() {
    }

    /**
     * Closes {@code resources} in order, skipping nulls; the first failure is thrown once all
     * were tried, with the later ones suppressed.
     */
    public static void closeAll(@Nullable AutoCloseable... resources) throws Exception {
        Exception first = null;
        for (AutoCloseable r : resources) {
            if (r == null) {
                continue;
            }
            try {
                r.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Something that deletes the tree at {@code dir} when closed; nothing for a null {@code dir}. */
    public static @Nullable AutoCloseable deletingTree(@Nullable Path dir) {
        return dir == null ? null : () -> deleteTree(dir);
    }

    /** Deletes {@code dir} and everything under it, deepest first; a tree already gone is fine. */
    public static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
