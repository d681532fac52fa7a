package org.ringwarden.daemon.install;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import jdk.net.ExtendedSocketOptions;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;

/**
 * A separate JVM that makes the kernel calls a ring delivery makes, so that
 * {@link SystemCallFilterTest} can trace it against the unit's SystemCallFilter: a disabled
 * ring, restrictions, a fixed file opened with openat2, a sealed memfd registered as a buffer,
 * enabling, io_uring_enter, a pidfd, process_vm_readv (transparent mode), and a Unix socket
 * with SO_PEERCRED. Argument: a scratch directory.
 */
public final class DeliverySyscallExercise {
    private DeliverySyscallExercise() {
    }

    public static void main(String[] args) throws Exception {
        Path scratch = Path.of(args[0]);
        Path data = Files.writeString(scratch.resolve("data"), "brokered bytes");

        IoUringCalls.CreatedRing ring = IoUringCalls.create(8, 16, SetupFlag.R_DISABLED.abi());
        int file = Descriptors.openat2(data.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0, Descriptors.RESOLVE_NO_SYMLINKS);
        int memfd = Memory.memfdCreate("ringwarden-exercise", Memory.MFD_CLOEXEC | Memory.MFD_ALLOW_SEALING);
        long length = Memory.pageSize();
        Memory.truncate(memfd, length);
        Memory.addSeals(memfd, Memory.F_SEAL_SHRINK | Memory.F_SEAL_GROW | Memory.F_SEAL_SEAL);
        MemorySegment buffer = Memory.mapShared(memfd, 0, length);
        try {
            IoUringCalls.registerFiles(ring.fd(), new int[] {file});
            IoUringCalls.registerBuffers(ring.fd(), List.of(buffer));
            IoUringCalls.registerRestrictions(ring.fd(), List.of(Restriction.registerOp(RegisterOp.REGISTER_PROBE),
                    Restriction.sqeOp(IoUringOp.NOP)));
            IoUringCalls.enableRings(ring.fd());
            IoUringCalls.enter(ring.fd(), 0, 0, 0);

            long self = ProcessHandle.current().pid();
            int pidfd = (int) Syscall.checked("pidfd_open", Syscall.SYS_PIDFD_OPEN, self, 0);
            Descriptors.close(pidfd);
            readOwnMemory(self, buffer);
            unixSocketWithPeerCredentials(scratch.resolve("s.sock"));
        } finally {
            Memory.unmap(buffer);
            Descriptors.close(memfd);
            Descriptors.close(file);
            Descriptors.close(ring.fd());
        }
        System.out.println("delivery syscalls exercised");
    }

    /** process_vm_readv on ourselves: what transparent mode does to a client's io_uring_params. */
    private static void readOwnMemory(long pid, MemorySegment remote) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment local = arena.allocate(16);
            MemorySegment localIov = arena.allocate(16, 8);
            localIov.set(ValueLayout.JAVA_LONG, 0, local.address());
            localIov.set(ValueLayout.JAVA_LONG, 8, 16);
            MemorySegment remoteIov = arena.allocate(16, 8);
            remoteIov.set(ValueLayout.JAVA_LONG, 0, remote.address());
            remoteIov.set(ValueLayout.JAVA_LONG, 8, 16);
            Syscall.checked("process_vm_readv", Syscall.SYS_PROCESS_VM_READV, pid, localIov.address(), 1, remoteIov.address(), 1, 0);
        }
    }

    private static void unixSocketWithPeerCredentials(Path path) throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path));
                 SocketChannel accepted = server.accept()) {
                accepted.getOption(ExtendedSocketOptions.SO_PEERCRED);
                client.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 1, '{'}));
                accepted.read(ByteBuffer.allocate(8));
            }
        } finally {
            Files.deleteIfExists(path);
        }
    }
}
