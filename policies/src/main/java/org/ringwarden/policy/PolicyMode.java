package org.ringwarden.policy;

/**
 * What a policy's lists mean for its rings ({@code "mode"}).
 *
 * <p>{@link #COMPLAIN} is for trying a policy on a running service before enforcing it, as
 * AppArmor's complain mode is: the ring's restrictions are the ceiling (every SQE opcode
 * and flag but those no policy may have, {@link CompiledPolicy#restrictions}) instead of the policy's lists, and {@code ringwarden watch-refusals} reports each
 * operation outside the lists instead of the kernel refusing it (docs/policies.md, "Complain
 * mode").
 */
public enum PolicyMode {
    /** The kernel refuses whatever the lists leave out (the default). */
    ENFORCE("enforce"),
    /** The ring allows the ceiling; what the lists leave out is reported, not refused. */
    COMPLAIN("complain");

    private final String word;

    PolicyMode(String word) {
        this.word = word;
    }

    /** As policy files and {@code --json} output write it. */
    public String word() {
        return word;
    }
}
