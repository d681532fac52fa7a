package org.ringwarden.daemon.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.cli.RingwardenCommand;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * {@code ringwarden leases --revoke}: an administrator ends a lease (or every lease of a user)
 * through the admin socket, the daemon lets go of it as a release would, and the audit trail
 * names the administrator.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@IoUringSysctl.RequiresRings
class RevokeTest {
    private TestDaemon d;
    private final CountDownLatch done = new CountDownLatch(1);

    @BeforeEach
    void start() throws Exception {
        d = TestDaemon.withGrantService();
    }

    @AfterEach
    void stop() throws Exception {
        done.countDown();
        d.close();
    }

    record Run(int exit, String out, String err) {
    }

    private static synchronized Run cli(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = RingwardenCommand.commandLine().execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** A seccomp listener of a throwaway thread's own filter, which stays alive until the test ends. */
    private int listener() throws Exception {
        CompletableFuture<Integer> fd = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("revoke-test-client").start(() -> {
            try {
                Prctl.setNoNewPrivs();
                fd.complete(Seccomp.installListener(SeccompFilter.trappingIoUringSetup(), Seccomp.Scope.CALLING_THREAD).fd());
                done.await();
            } catch (Throwable t) {
                fd.completeExceptionally(t);
            }
        });
        return fd.get(10, TimeUnit.SECONDS);
    }

    private Response.Grant acquire(RawClient c) throws Exception {
        c.send(new Request.Acquire("open", 0));
        Response r = c.read();
        assertThat(r).as("acquire").isInstanceOf(Response.Grant.class);
        Response.Grant g = (Response.Grant) r;
        for (int i = 0; i < g.fds(); i++) {
            c.receiveFd(Duration.ofSeconds(5)).closeAll(); // the buffer's memfd: not needed here
        }
        return g;
    }

    private RawClient attached() throws Exception {
        int l = listener();
        RawClient c = d.client();
        try {
            c.send(new Request.Attach(1, null));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
            c.sendFd(l);
            assertThat(c.read()).as("attached").isEqualTo(new Response.Attached());
            return c;
        } finally {
            Descriptors.closeQuietly(l);
        }
    }

    @Test
    void anAdministratorRevokesOneLeaseAndTheAuditNamesThem() throws Exception {
        try (RawClient c = attached()) {
            Response.Grant kept = acquire(c);
            Response.Grant revoked = acquire(c);
            assertThat(d.daemon.admin().leases().leases()).as("two live leases").hasSize(2);

            Run r = cli("leases", "--revoke", revoked.lease(), "--admin-socket", d.adminSocket.toString());

            assertThat(r.exit()).as("exit; stderr %s", r.err()).isZero();
            assertThat(r.out()).as("says what it revoked").contains("revoked " + revoked.lease())
                    .contains("its ring was never collected");
            assertThat(d.daemon.admin().leases().leases()).as("only the other lease is live")
                    .extracting(Response.LeaseEntry::lease).containsExactly(kept.lease());
            c.send(new Request.Release(revoked.lease()));
            assertThat(c.read()).as("the holder can no longer release it: the daemon let go already")
                    .isInstanceOf(Response.Error.class)
                    .extracting(x -> ((Response.Error) x).code()).isEqualTo(ErrorCode.NOT_PERMITTED);
            List<String> audit = d.audit();
            assertThat(audit).as("one audit record, the administrator (this process) as the actor")
                    .anySatisfy(line -> assertThat(line).contains("\"event\":\"revoke\"")
                            .contains("\"pid\":" + ProcessHandle.current().pid())
                            .contains("\"lease\":\"" + revoked.lease() + "\"").contains("\"outcome\":\"ok\""));

            Run again = cli("leases", "--revoke", revoked.lease(), "--admin-socket", d.adminSocket.toString());
            assertThat(again.exit()).as("nothing left to revoke is a refusal").isEqualTo(1);
            assertThat(again.out()).as("says so").contains("nothing revoked");
        }
    }

    @Test
    void revokingAUsersLeasesEndsEveryOneOfThem() throws Exception {
        try (RawClient c = attached()) {
            acquire(c);
            acquire(c);
            Run list = cli("leases", "--user", "root", "--admin-socket", d.adminSocket.toString());
            assertThat(list.out().lines().count()).as("root's leases listed: header and two\n%s", list.out()).isEqualTo(3);

            Run r = cli("leases", "--revoke", "--user", "0", "--admin-socket", d.adminSocket.toString(), "--json");

            assertThat(r.exit()).as("exit; stderr %s", r.err()).isZero();
            assertThat(r.out()).as("the daemon's answer").contains("\"type\" : \"revoked\"");
            assertThat(d.daemon.admin().leases().leases()).as("no live lease").isEmpty();
            assertThat(cli("leases", "--revoke", "--admin-socket", d.adminSocket.toString()).exit())
                    .as("--revoke with neither a lease nor --user").isEqualTo(2);
        }
    }

    @Test
    void aClientCannotRevoke() throws Exception {
        try (RawClient c = d.client()) {
            c.send(new Request.Revoke(null, 0));
            assertThat(c.read()).as("revoke on the client socket").isInstanceOf(Response.Error.class)
                    .extracting(x -> ((Response.Error) x).code()).isEqualTo(ErrorCode.NOT_PERMITTED);
        }
    }
}
