package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

/**
 * An operation the ring's policy does not allow, caught by the library before it reached the
 * kernel, e.g. {@code READ is not allowed by policy 'reader'; allowed: NOP, READ_FIXED}. The
 * kernel would refuse it too (the SQE would complete with {@code -EACCES}); this says why, where
 * the program prepared it. Unchecked: it is a programming error, like an index out of bounds.
 * The check can be switched off ({@link BrokeredRing#checkPolicy(boolean)}); the kernel's is not.
 */
public final class PolicyViolationException extends IllegalArgumentException {
    private final String policy;
    private final String what;

    PolicyViolationException(String policy, String what, String message) {
        super(message);
        this.policy = requireNonNull(policy, "policy");
        this.what = requireNonNull(what, "what");
    }

    /** The policy the ring was granted under. */
    public String policy() {
        return policy;
    }

    /** The refused opcode or flag, by its kernel name ({@code READ}, {@code IO_LINK}). */
    public String refused() {
        return what;
    }
}
