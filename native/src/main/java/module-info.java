/**
 * The kernel layer: raw system calls through FFM, the io_uring ABI, rings, seccomp user
 * notification, descriptors. The io_uring ABI is public (the client library's API names its
 * opcodes and flags); the raw calls are for ringwarden's own modules only.
 */
module org.ringwarden.linux {
    requires transitive org.jspecify;

    exports org.ringwarden.linux.uring;
    exports org.ringwarden.linux to org.ringwarden.policies, org.ringwarden.protocol, org.ringwarden.client,
            org.ringwarden.daemon;
    exports org.ringwarden.linux.seccomp to org.ringwarden.client, org.ringwarden.daemon;
}
