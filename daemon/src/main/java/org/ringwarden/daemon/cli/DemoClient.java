package org.ringwarden.daemon.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.ringwarden.client.BrokeredRing;
import org.ringwarden.client.CompletionCursor;
import org.ringwarden.client.PolicyInfo;
import org.ringwarden.client.PolicyViolationException;
import org.ringwarden.client.RegisteredBuffer;
import org.ringwarden.client.RingwardenClient;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Tasks;
import org.ringwarden.linux.uring.IoUringCalls;

/**
 * The sandboxed side of {@code ringwarden demo}: runs as an unprivileged user, uses only the
 * client library, and says what happened in a few lines. Exit status 0 if everything went as
 * ringwarden promises, 1 otherwise (with the line that did not).
 *
 * <p>Arguments: the daemon's socket, the private file, the policy name.
 */
public final class DemoClient {
    private DemoClient() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: DemoClient SOCKET FILE POLICY");
            System.exit(2);
        }
        Path socket = Path.of(args[0]);
        Path file = Path.of(args[1]);
        String policy = args[2];
        int uid = Tasks.getuid();
        boolean ok = true;

        // 1. The file is not ours to open.
        try {
            int fd = Descriptors.open(file.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
            Descriptors.close(fd);
            say("1. UNEXPECTED: as uid " + uid + " I could open " + file + " myself; the demo proves nothing");
            ok = false;
        } catch (KernelException e) {
            say("1. I run as uid " + uid + ". Opening " + file + " myself fails: " + e.errnoName() + ".");
        }

        try (RingwardenClient client = RingwardenClient.connect(socket)) {
            List<PolicyInfo> policies = client.policies();
            say("2. Connected to the daemon; my io_uring_setup now goes to it (seccomp, no-new-privs). Policies for me: "
                    + String.join(", ", policies.stream().map(PolicyInfo::name).sorted().toList())
                    + " (the root-only ones are not even named to me).");
            try (BrokeredRing ring = client.acquire(policy)) {
                RegisteredBuffer io = ring.buffer("io");
                int secret = ring.file("secret");
                say("3. Got a ring under '" + policy + "': the daemon opened the file as fixed file '"
                        + ring.fileNames().get(0) + "' and registered a " + io.length() / 1024
                        + " KiB buffer; allowed: " + String.join(", ", ring.allowedOperations()) + ".");

                ring.prepare().readFixed(secret, io, 0, (int) io.length(), 0).userData(1);
                ring.submitAndWait(1);
                CompletionCursor c = ring.completions();
                c.next();
                int n = c.result();
                c.release();
                if (n < 0) {
                    say("4. UNEXPECTED: READ_FIXED failed with " + Errno.nameOf(-n));
                    ok = false;
                } else {
                    String text = new String(io.segment().asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                            StandardCharsets.UTF_8);
                    String line = text.lines().findFirst().orElse("");
                    say("4. READ_FIXED through the brokered ring read " + n + " bytes of it: \"" + line + "\"");
                }

                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment buf = arena.allocate(64);
                    try {
                        ring.prepare().read(secret, buf, 0);
                        say("5. UNEXPECTED: the library let a READ through");
                        ok = false;
                    } catch (PolicyViolationException e) {
                        say("5. A plain READ is refused before it reaches the kernel: " + e.getMessage() + ".");
                    }
                    ring.checkPolicy(false);
                    ring.prepare().read(secret, buf, 0).userData(2);
                    ring.submitAndWait(1);
                    c.next();
                    int r = c.result();
                    c.release();
                    if (r == -Errno.EACCES.number()) {
                        say("   With that check switched off, the kernel itself completes the READ with -EACCES:"
                                + " the ring's restrictions hold whatever the client does.");
                    } else {
                        say("   UNEXPECTED: with the check off, the READ completed with " + r);
                        ok = false;
                    }
                }
            }
            try {
                IoUringCalls.create(4, 0, 0);
                say("6. UNEXPECTED: I could create a ring of my own");
                ok = false;
            } catch (KernelException e) {
                say("6. A ring of my own? io_uring_setup answers " + e.errnoName()
                        + ": only the daemon's rings, under its policies, reach this process.");
            }
        } catch (Exception e) {
            say("UNEXPECTED: " + e);
            ok = false;
        }
        System.out.flush();
        System.exit(ok ? 0 : 1);
    }

    private static void say(String line) {
        System.out.println("   " + line);
    }
}
