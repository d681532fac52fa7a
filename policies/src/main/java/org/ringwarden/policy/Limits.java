package org.ringwarden.policy;

/**
 * Per-user quotas of a policy, counted over every lease a user holds under it.
 *
 * @param leasesPerUser      how many leases (rings) one uid may hold at once
 * @param bufferBytesPerUser how many bytes of registered buffers one uid may hold at once
 */
public record Limits(int leasesPerUser, long bufferBytesPerUser) {
    public static final int DEFAULT_LEASES_PER_USER = 8;
    public static final long DEFAULT_BUFFER_BYTES_PER_USER = 64L << 20;
}
