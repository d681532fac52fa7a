package org.ringwarden.daemon.admin;

/**
 * A count with its noun in the right number, for the CLI's and the daemon's messages:
 * {@code Counted.of(1, "policy", "policies")} is {@code "1 policy"}, with 2 {@code "2 policies"}.
 */
public final class Counted {
    private Counted() {
    }

    /** {@code n} and {@code one} when {@code n} is 1, else {@code n} and {@code many}. */
    public static String of(long n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }
}
