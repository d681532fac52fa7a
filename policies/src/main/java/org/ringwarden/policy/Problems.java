package org.ringwarden.policy;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.ringwarden.policy.JsonTree.Location;
import org.ringwarden.policy.PolicyProblem.Severity;

/** Collects the problems of one file while it is read and checked. */
final class Problems {
    private final String file;
    /** Problems reported per file at most; the rest are counted. */
    static final int MAX_REPORTED = 200;

    private final List<PolicyProblem> list = new ArrayList<>();
    private int suppressed;
    private boolean errors;

    Problems(String file) {
        this.file = file;
    }

    String file() {
        return file;
    }

    void error(Location at, String path, ProblemCode code, String message, @Nullable String suggestion) {
        add(Severity.ERROR, at, path, code, message, suggestion);
    }

    void warning(Location at, String path, ProblemCode code, String message, @Nullable String suggestion) {
        add(Severity.WARNING, at, path, code, message, suggestion);
    }

    /** An error whose message gains "; did you mean `x`?" when there is a suggestion. */
    void unknown(Location at, String path, ProblemCode code, String message, @Nullable String suggestion) {
        error(at, path, code, suggestion == null ? message : message + "; did you mean `" + suggestion + "`?", suggestion);
    }

    private void add(Severity s, Location at, String path, ProblemCode code, String message, @Nullable String suggestion) {
        if (s == Severity.ERROR) {
            errors = true;
        }
        if (list.size() < MAX_REPORTED) {
            list.add(new PolicyProblem(at.file() == null ? file : at.file(), at.line(), at.column(), path, s, code, message,
                    suggestion));
        } else {
            // A file with thousands of problems is not a policy with typos; the first ones say enough.
            suppressed++;
        }
    }

    /** True once further problems are only counted: callers may skip composing messages and suggestions. */
    boolean saturated() {
        return list.size() >= MAX_REPORTED;
    }

    boolean hasErrors() {
        return errors;
    }

    /** Every problem recorded, in file order (stable: same place, order found), and a last one counting those left out past {@link #MAX_REPORTED}. */
    List<PolicyProblem> all() {
        List<PolicyProblem> out = new ArrayList<>(list);
        out.sort(java.util.Comparator.comparingInt(PolicyProblem::line).thenComparingInt(PolicyProblem::column));
        if (suppressed == 0) {
            return out;
        }
        PolicyProblem last = out.getLast();
        out.add(new PolicyProblem(file, last.line(), last.column(), "$", errors ? Severity.ERROR : Severity.WARNING,
                ProblemCode.TOO_MANY_PROBLEMS, suppressed + " more problem(s) not shown", null));
        return out;
    }
}
