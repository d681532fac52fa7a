package org.ringwarden.daemon.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.config.Limits;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.daemon.IoUringSysctl;

/** Bounds on connections and on silent ones. */
@Timeout(60)
@IoUringSysctl.RequiresRings
class ConnectionLimitsTest {

    private static Limits with(Limits l, int total, int perUid, Duration idle) {
        return new Limits(total, perUid, l.requestTimeout(), idle, l.ticketExpiry(), l.leasesTotal(), l.leasesPerUid(),
                l.bufferBytesTotal(), l.bufferBytesPerUid());
    }

    @Test
    void connectionsPastThePerUidLimitGetQuotaExceededAndAreClosed() throws Exception {
        try (TestDaemon d = TestDaemon.start(l -> with(l, 10, 2, l.idleTimeout()), Map.of());
             RawClient a = d.client(); RawClient b = d.client()) {
            assertThat(a.call(new Request.ListPolicies())).as("first").isInstanceOf(Response.Policies.class);
            assertThat(b.call(new Request.ListPolicies())).as("second").isInstanceOf(Response.Policies.class);
            try (RawClient c = d.client()) {
                Response r = c.read(Duration.ofSeconds(5));
                assertThat(r).as("third connection of the same uid").isInstanceOf(Response.Error.class);
                assertThat(((Response.Error) r).code()).as("code").isEqualTo(ErrorCode.QUOTA_EXCEEDED);
                assertThat(c.closedByPeer(Duration.ofSeconds(5))).as("closed after the refusal").isTrue();
            }
            a.close();
            d.awaitConnections(1, Duration.ofSeconds(5));
            try (RawClient c = d.client()) {
                assertThat(c.call(new Request.ListPolicies())).as("a slot freed by a close is usable again")
                        .isInstanceOf(Response.Policies.class);
            }
            assertThat(d.audit()).as("refused connection audited")
                    .anySatisfy(l -> assertThat(l).contains("\"event\":\"connect\"").contains("QUOTA_EXCEEDED"));
        }
    }

    @Test
    void connectionsPastTheTotalLimitGetQuotaExceeded() throws Exception {
        try (TestDaemon d = TestDaemon.start(l -> with(l, 2, 10, l.idleTimeout()), Map.of());
             RawClient a = d.client(); RawClient b = d.client()) {
            a.call(new Request.ListPolicies());
            b.call(new Request.ListPolicies());
            try (RawClient c = d.client()) {
                Response.Error e = (Response.Error) c.read(Duration.ofSeconds(5));
                assertThat(e.code()).as("past the total").isEqualTo(ErrorCode.QUOTA_EXCEEDED);
            }
        }
    }

    @Test
    void aSilentConnectionHoldingNothingIsClosedButAnAttachedOneStays() throws Exception {
        try (TestDaemon d = TestDaemon.start(l -> with(l, 10, 10, Duration.ofMillis(400)), Map.of());
             RawClient silent = d.client(); RawClient holder = d.client()) {
            int[] pair = org.ringwarden.linux.UnixSockets.socketpair(org.ringwarden.linux.UnixSockets.SOCK_STREAM);
            try {
                holder.send(new Request.Attach(1, null));
                assertThat(holder.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
                holder.sendFd(pair[0]);
                assertThat(holder.read()).as("attached").isEqualTo(new Response.Attached());
            } finally {
                Descriptors.closeQuietly(pair[0]);
                Descriptors.closeQuietly(pair[1]);
            }
            assertThat(silent.closedByPeer(Duration.ofSeconds(5))).as("silent connection closed after idleTimeout").isTrue();
            // Connections opened after the holder's last answer have idled out on every event
            // loop: an idle timer of the holder's, had one been armed, has fired by now.
            d.awaitIdleTimeoutRunOut();
            assertThat(holder.call(new Request.ListPolicies())).as("attached connection still open after its idleTimeout")
                    .isInstanceOf(Response.Policies.class);
        }
    }
}
