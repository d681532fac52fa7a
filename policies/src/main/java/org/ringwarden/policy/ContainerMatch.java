package org.ringwarden.policy;

import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * One entry of a policy's {@code subjects.containers}: the containers it admits. Every field
 * given must match (an absent field matches anything, but an entry names at least one); a
 * value is compared exactly, or, when it ends with {@code *}, as a prefix.
 *
 * @param id           the OCI container id, or null
 * @param podNamespace the Kubernetes pod namespace, or null
 * @param podName      the Kubernetes pod name, or null
 */
public record ContainerMatch(@Nullable String id, @Nullable String podNamespace, @Nullable String podName) {
    /**
     * What a value may be: the characters of OCI ids and Kubernetes names (DNS labels and
     * subdomains), at most 253 of them, with an optional final {@code *}.
     */
    public static final Pattern VALUE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}\\*?|\\*");

    public ContainerMatch {
        if (id == null && podNamespace == null && podName == null) {
            throw new IllegalArgumentException("a container match names at least one of id, podNamespace, podName");
        }
        for (String v : new String[] {id, podNamespace, podName}) {
            if (v != null && !VALUE.matcher(v).matches()) {
                throw new IllegalArgumentException("not a container match value: " + v);
            }
        }
    }

    /** Whether {@code c} is one of the containers this entry names. */
    public boolean admits(ContainerSubject c) {
        return matches(id, c.id()) && matches(podNamespace, c.podNamespace()) && matches(podName, c.podName());
    }

    private static boolean matches(@Nullable String pattern, @Nullable String value) {
        if (pattern == null) {
            return true;
        }
        if (value == null) {
            return false; // a pod field asked for, and the container is not a pod's
        }
        if (pattern.endsWith("*")) {
            return value.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        return pattern.equals(value);
    }

    /** {@code id=t1 podNamespace=db podName=pg-*}: the fields given. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        if (id != null) {
            s.append("id=").append(id);
        }
        if (podNamespace != null) {
            s.append(s.isEmpty() ? "" : " ").append("podNamespace=").append(podNamespace);
        }
        if (podName != null) {
            s.append(s.isEmpty() ? "" : " ").append("podName=").append(podName);
        }
        return s.toString();
    }
}
