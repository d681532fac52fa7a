package org.ringwarden.client;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.protocol.Response;

/**
 * Prepares a ring the way the daemon does (disabled, restricted, files and a sealed memfd buffer
 * registered from a second mapping, maybe enabled) inside the test process, and the grant that
 * would describe it, so that {@link BrokeredRing} can be tested on real rings without a daemon.
 * The "daemon's" mapping of the buffer is a different address from the client's: a READ_FIXED
 * that lands in the client's mapping proves the address translation.
 */
final class LocalGrant implements AutoCloseable {
    final Response.Grant grant;
    final int ringFd;
    final int memfd;
    final MemorySegment daemonMapping;

    private LocalGrant(Response.Grant grant, int ringFd, int memfd, MemorySegment daemonMapping) {
        this.grant = grant;
        this.ringFd = ringFd;
        this.memfd = memfd;
        this.daemonMapping = daemonMapping;
    }

    /**
     * @param ops        allowed opcodes (null: no restrictions at all)
     * @param flagsAllowed allowed SQE flags
     * @param flagsRequired required SQE flags
     * @param files      descriptors to register (the test keeps its own)
     * @param enable     whether "the daemon" enables the ring
     * @param setupFlags extra setup flags (SINGLE_ISSUER...)
     */
    static LocalGrant prepare(String policy, List<IoUringOp> ops, List<SqeFlag> flagsAllowed, List<SqeFlag> flagsRequired,
                              int[] files, List<String> fileNames, long bufferBytes, boolean enable, long setupFlags) {
        IoUringCalls.CreatedRing created = IoUringCalls.create(32, 0, SetupFlag.R_DISABLED.abi() | setupFlags);
        int fd = created.fd();
        int memfd = Memory.memfdCreate("rw-test-buffer", Memory.MFD_CLOEXEC | Memory.MFD_ALLOW_SEALING);
        Memory.truncate(memfd, bufferBytes);
        Memory.addSeals(memfd, Memory.F_SEAL_SHRINK | Memory.F_SEAL_GROW | Memory.F_SEAL_SEAL);
        MemorySegment mapping = Memory.mapShared(memfd, 0, bufferBytes);
        if (files.length > 0) {
            IoUringCalls.registerFiles(fd, files);
        }
        IoUringCalls.registerBuffers(fd, List.of(mapping));
        List<String> opNames = new ArrayList<>();
        List<String> allowedNames = new ArrayList<>();
        List<String> requiredNames = new ArrayList<>();
        if (ops != null) {
            List<Restriction> rs = new ArrayList<>();
            for (IoUringOp op : ops) {
                rs.add(Restriction.sqeOp(op));
                opNames.add(op.kernelName());
            }
            int allowed = 0;
            for (SqeFlag f : flagsAllowed) {
                allowed |= (int) f.abi();
                allowedNames.add(f.kernelName());
            }
            int required = 0;
            for (SqeFlag f : flagsRequired) {
                required |= (int) f.abi();
                requiredNames.add(f.kernelName());
            }
            rs.add(Restriction.sqeFlagsAllowed(allowed));
            rs.add(Restriction.sqeFlagsRequired(required));
            rs.add(Restriction.registerOp(RegisterOp.REGISTER_PROBE));
            IoUringCalls.registerRestrictions(fd, rs);
        } else {
            for (IoUringOp op : IoUringOp.values()) {
                opNames.add(op.kernelName());
            }
            for (SqeFlag f : SqeFlag.values()) {
                allowedNames.add(f.kernelName());
            }
        }
        if (enable) {
            IoUringCalls.enableRings(fd);
        }
        List<Response.FileSlot> slots = new ArrayList<>();
        for (int i = 0; i < fileNames.size(); i++) {
            slots.add(new Response.FileSlot(i, fileNames.get(i)));
        }
        Response.Grant g = new Response.Grant("lease-" + fd, policy, 1L, 1, Response.Ring.of(created.params(), enable),
                slots, List.of(new Response.BufferSlot(0, "io", 0, bufferBytes, mapping.address())),
                new Response.Allowed(opNames, allowedNames, requiredNames, List.of("PROBE")));
        return new LocalGrant(g, fd, memfd, mapping);
    }

    /** What the client would get: its own copies of the ring fd and the memfd. */
    BrokeredRing deliver() {
        return BrokeredRing.map(null, grant, Descriptors.dupCloexec(ringFd), new int[] {Descriptors.dupCloexec(memfd)});
    }

    @Override
    public void close() {
        Memory.unmap(daemonMapping);
        Descriptors.closeQuietly(memfd);
        Descriptors.closeQuietly(ringFd);
    }
}
