package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * One thing wrong (or risky) in a policy, located precisely enough to fix it.
 *
 * <p>{@link #format()} gives the compiler-style line a terminal shows:
 * <pre>
 * /etc/ringwarden/policies.d/reader.json:7:20: error: `REED_FIXED` is not an SQE opcode; did you mean `READ_FIXED`? [UNKNOWN_SQE_OP at $.sqe.ops[1]]
 * </pre>
 *
 * @param file       the file the problem is in, as given to the loader ({@code bundled:reader.json} for a bundled policy)
 * @param line       1-based line, or 0 when the problem concerns the file as a whole (unreadable, permissions)
 * @param column     1-based column (in characters), or 0 with {@code line} 0
 * @param jsonPath   the JSON path of the field ({@code $.files[0].path}), or {@code $} for the whole document
 * @param severity   an error refuses the file (and, in a directory, the whole set); a warning does not
 * @param code       what kind of problem, for programs and tests to switch on
 * @param message    the full sentence for people, including any "did you mean" suggestion
 * @param suggestion the bare suggested replacement (a valid name, a normalised path), if there is one
 */
public record PolicyProblem(String file, int line, int column, String jsonPath, Severity severity,
                            ProblemCode code, String message, @Nullable String suggestion) {
    /** Whether a problem refuses the policy. */
    public enum Severity {
        ERROR, WARNING;

        /** {@code error} or {@code warning}, as the compiler-style line spells it. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public PolicyProblem {
        requireNonNull(file, "file");
        requireNonNull(jsonPath, "jsonPath");
        requireNonNull(severity, "severity");
        requireNonNull(code, "code");
        requireNonNull(message, "message");
    }

    public boolean isError() {
        return severity == Severity.ERROR;
    }

    /** {@code file:line:col: error: message [CODE at $.path]} (line and column left out when 0). */
    public String format() {
        StringBuilder b = new StringBuilder(file);
        if (line > 0) {
            b.append(':').append(line).append(':').append(column);
        }
        b.append(": ").append(severity.label()).append(": ").append(message)
                .append(" [").append(code).append(" at ").append(jsonPath).append(']');
        return b.toString();
    }

    @Override
    public String toString() {
        return format();
    }
}
