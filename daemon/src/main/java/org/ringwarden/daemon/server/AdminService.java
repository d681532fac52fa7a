package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

import org.ringwarden.daemon.admin.Counted;
import org.ringwarden.daemon.admin.SystemFacts;
import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.audit.AuditRecord;
import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.jspecify.annotations.Nullable;

/**
 * The admin socket's answers, and the one place a reload happens (from the socket or SIGHUP):
 * one at a time, announced to the service manager around it, audited.
 */
public final class AdminService {
    private static final Logger LOG = LoggerFactory.getLogger(AdminService.class);

    /** Hooks around a reload, for sd_notify's {@code RELOADING=1} ... {@code READY=1}. */
    public interface ReloadListener {
        void reloading();

        void reloaded(Response.Reloaded result);
    }

    private final RingBroker broker;
    private final ServerStats stats;
    private final AuditLog audit;
    private final ReloadListener listener;
    private final String kernel = SystemFacts.kernelRelease();

    public AdminService(RingBroker broker, ServerStats stats, AuditLog audit, ReloadListener listener) {
        this.broker = requireNonNull(broker, "broker");
        this.stats = requireNonNull(stats, "stats");
        this.audit = requireNonNull(audit, "audit");
        this.listener = requireNonNull(listener, "listener");
    }

    /**
     * {@code status}: cheap, called on the event loop. Its counters are the audit log's: grants
     * are the acquires granted ({@code grant}) and the transparent rings made ({@code deliver}
     * of a transparent attachment); refusals, by code, every record with outcome
     * {@code refused}: the server's answers and the grant side's refused deliveries
     * ({@code deliver-refused}).
     */
    public Response.StatusReport status() {
        java.util.Map<String, Long> refusals = new java.util.TreeMap<>(stats.refusals());
        broker.deliveryRefusals().forEach((code, n) -> refusals.merge(code, n, Long::sum));
        return new Response.StatusReport(SystemFacts.ringwardenVersion(), stats.uptimeSeconds(), kernel,
                broker.policyCount(), stats.connections(), broker.leaseCount(), stats.grants() + broker.transparentGrants(),
                refusals, SystemFacts.pinnedBytes());
    }

    /** {@code leases}: cheap, called on the event loop. */
    public Response.LeaseList leases() {
        return new Response.LeaseList(broker.leases());
    }

    /** {@code report-refusals}: reads /proc, called from the request executor. */
    public Response.RefusalsRecorded reportRefusals(List<org.ringwarden.protocol.Request.RefusedSqe> refusals) {
        return new Response.RefusalsRecorded(broker.reportRefusals(refusals));
    }

    /** {@code complain-targets}: reads /proc, called from the request executor. */
    public Response.ComplainTargets complainTargets() {
        List<Integer> tids = broker.complainTargets();
        return new Response.ComplainTargets(tids.size() > Response.ComplainTargets.MAX_TIDS
                ? tids.subList(0, Response.ComplainTargets.MAX_TIDS) : tids);
    }

    /**
     * {@code revoke}: called from the request executor; {@code by} is the administrator who
     * asked. Each lease revoked is one audit record naming the administrator as the actor and
     * the holder in its detail; a revoke that matched nothing is recorded as refused.
     */
    public Response.Revoked revoke(Peer by, Request.Revoke request) {
        List<Response.LeaseEntry> revoked = broker.revoke(request.lease(), request.uid());
        String what = request.lease() != null ? "lease " + request.lease() : "the leases of uid " + request.uid();
        for (Response.LeaseEntry l : revoked) {
            LOG.info("revoked lease {} (policy {}, uid {}, pid {}) by uid {}", l.lease(), l.policy(), l.uid(), l.pid(),
                    by.uid());
            audit.record(new AuditRecord(Instant.now(), "revoke", by.pid(), by.uid(), by.gid(), by.exe(), l.policy(),
                    l.lease(), "ok", null, "revoked by an administrator; held by uid " + l.uid() + " pid " + l.pid()
                    + " (" + l.exe() + ")" + (l.collected() ? ", which keeps the ring it collected until it closes it"
                    : ", before it collected the ring")));
        }
        if (revoked.isEmpty()) {
            audit.record(new AuditRecord(Instant.now(), "revoke", by.pid(), by.uid(), by.gid(), by.exe(), null,
                    request.lease(), "refused", null, "no live lease matched: " + what));
        }
        return new Response.Revoked(revoked);
    }

    /** {@code reload}: blocking, called from the request executor; {@code by} is the administrator who asked. */
    public Response.Reloaded reload(Peer by) {
        return reload(by, "admin socket");
    }

    /** Reloads because of SIGHUP. */
    public Response.Reloaded reloadBySignal() {
        return reload(null, "SIGHUP");
    }

    private synchronized Response.Reloaded reload(@Nullable Peer by, String trigger) {
        listener.reloading();
        Response.Reloaded r;
        try {
            r = broker.reload();
        } catch (RuntimeException e) {
            LOG.error("reload failed", e);
            r = new Response.Reloaded(false, broker.policyCount(), List.of("the reload failed: " + e));
        }
        if (r.ok()) {
            LOG.info("reloaded ({}): {} in force", trigger, Counted.of(r.policies(), "policy", "policies"));
        } else {
            LOG.warn("reload ({}) refused; the running {} stay in force: {}", trigger, Counted.of(r.policies(), "policy", "policies"),
                    r.problems());
        }
        audit.record(new AuditRecord(Instant.now(), "reload", by == null ? 0 : by.pid(), by == null ? -1 : by.uid(),
                by == null ? -1 : by.gid(), by == null ? null : by.exe(), null, null, r.ok() ? "ok" : "refused", null,
                r.ok() ? Counted.of(r.policies(), "policy", "policies") + " in force (" + trigger + ")"
                        : trigger + ": " + String.join("; ", r.problems())));
        listener.reloaded(r);
        return r;
    }

    /** A listener that does nothing. */
    public static ReloadListener quiet() {
        return new ReloadListener() {
            @Override
            public void reloading() {
            }

            @Override
            public void reloaded(Response.Reloaded result) {
            }
        };
    }
}
