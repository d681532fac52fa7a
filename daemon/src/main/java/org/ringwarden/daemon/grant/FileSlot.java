package org.ringwarden.daemon.grant;

/**
 * One registered fixed file of a grant: the client addresses it by {@code index} with
 * {@code IOSQE_FIXED_FILE}. The policy's files come first, then the client's own descriptors
 * (named {@code client-0}, {@code client-1}, ... in the order it sent them).
 */
public record FileSlot(int index, String name) {
}
