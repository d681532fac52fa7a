package org.ringwarden.daemon.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

import org.jspecify.annotations.Nullable;

/**
 * {@code ringwarden run} without picocli, for the command lines {@link RunCommand} would accept
 * as they are: picocli builds the model of every command reflectively, which is most of the
 * start-up time of {@code ringwarden run} (its classes, compiled for Java 5, cannot go into the
 * JVM's ahead-of-time cache either). Anything else (help, an unknown or malformed option, a
 * missing policy or program) goes to picocli, which explains it.
 */
final class RunFastPath {
    private RunFastPath() {
    }

    /**
     * Runs {@code args} (the first being {@code run}) if they are plain; empty if picocli must
     * handle them.
     */
    static OptionalInt tryRun(String[] args) {
        RunCommand c = parse(args);
        return c == null ? OptionalInt.empty() : OptionalInt.of(c.call());
    }

    /** The command {@code args} (the first being {@code run}) stand for; null if picocli must parse them. */
    static @Nullable RunCommand parse(String[] args) {
        RunCommand c = new RunCommand();
        int i = 1;
        String policy = null;
        while (i < args.length) {
            String a = args[i];
            if (a.equals("--")) {
                i++;
                break;
            }
            if (!a.startsWith("-")) {
                break; // the program: picocli's stopAtPositional
            }
            String name = a;
            String value;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
                i++;
            } else if (i + 1 < args.length) {
                value = args[i + 1];
                i += 2;
            } else {
                return null;
            }
            switch (name) {
                case "--policy" -> {
                    if (policy != null) {
                        return null;
                    }
                    policy = value;
                }
                case "--socket" -> {
                    if (c.socket != null) {
                        return null;
                    }
                    c.socket = Path.of(value);
                }
                case "--daemon-wait" -> {
                    double d = seconds(value);
                    if (Double.isNaN(d)) {
                        return null;
                    }
                    c.daemonWait = d;
                }
                default -> {
                    return null;
                }
            }
        }
        if (policy == null || i >= args.length) {
            return null;
        }
        c.policy = policy;
        c.command = List.of(args).subList(i, args.length);
        return c;
    }

    private static double seconds(@Nullable String value) {
        try {
            return value == null ? Double.NaN : Double.parseDouble(value);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
