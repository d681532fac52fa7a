package org.ringwarden.daemon.grant;

/**
 * One registered buffer of a grant.
 *
 * @param index   the buffer's index ({@code buf_index} of {@code READ_FIXED}/{@code WRITE_FIXED})
 * @param name    the policy's name for it
 * @param memfd   the sealed memfd holding the bytes, owned by the lease: the server sends it
 *                to the client and must not close it; the lease closes it when it ends
 * @param length  the buffer's length in bytes
 * @param address where the daemon mapped and registered it: the client writes
 *                {@code address + offset} in each SQE
 */
public record BufferGrant(int index, String name, int memfd, long length, long address) {
}
