package org.ringwarden.daemon.grant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.protocol.Tickets;

/**
 * A child process for tests: calls {@code io_uring_setup(1, params, MAGIC, args[0])} once and
 * prints the result. Started from a {@link TrappedThread}, it inherits that thread's filter,
 * so the call is trapped to the test's listener.
 */
public final class TrappedSetupChild {
    private TrappedSetupChild() {
    }

    public static void main(String[] args) {
        long ticket = Long.parseLong(args[0]);
        System.out.println("calling");
        System.out.flush();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(IoUringLayout.PARAMS);
            long r = Syscall.rawOnThisThread(Syscall.SYS_IO_URING_SETUP, 1, params.address(), Tickets.MAGIC, ticket,
                    0, 0);
            System.out.println("result " + r);
        }
    }
}
