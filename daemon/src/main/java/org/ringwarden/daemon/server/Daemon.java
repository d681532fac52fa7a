package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.ringwarden.daemon.admin.Counted;
import org.ringwarden.daemon.admin.RingPreflight;
import org.ringwarden.daemon.admin.SystemFacts;
import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.oci.OciAgentServer;
import org.ringwarden.daemon.systemd.SdNotify;
import org.ringwarden.daemon.systemd.SocketActivation;
import org.ringwarden.protocol.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.jspecify.annotations.Nullable;

/**
 * A running daemon: the server on its sockets, the broker behind it, the admin service, and
 * the service manager kept informed ({@code READY=1}, {@code RELOADING=1}, {@code STOPPING=1},
 * {@code STATUS=}).
 *
 * <pre>{@code
 * try (Daemon d = Daemon.start(config, broker, System.getenv())) {
 *     d.installSignalHandlers();   // SIGHUP reloads, SIGTERM/SIGINT stop
 *     d.awaitStop();
 * }
 * }</pre>
 */
public final class Daemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

    private final RingBroker broker;
    private final DaemonServer server;
    private final AdminService admin;
    private final SdNotify notify;
    private final ServerStats stats;
    /** Null without an OCI agent socket. */
    private @Nullable OciAgentServer agent;
    /** Null when nothing sends status updates (not under systemd). */
    private final @Nullable ScheduledExecutorService statusUpdates;
    private final CountDownLatch stop = new CountDownLatch(1);
    private boolean closed;

    private Daemon(RingBroker broker, DaemonServer server, AdminService admin, SdNotify notify, ServerStats stats,
                   @Nullable ScheduledExecutorService statusUpdates) {
        this.broker = broker;
        this.server = server;
        this.admin = admin;
        this.notify = notify;
        this.stats = stats;
        this.statusUpdates = statusUpdates;
    }

    /**
     * Starts serving {@code broker} as {@code config} says (or on the sockets systemd passed in
     * {@code env}), and tells the service manager it is ready. Takes ownership of the broker:
     * it is closed if the start fails.
     *
     * @throws RingPreflight.CannotMakeRings before any socket is bound or anything is announced,
     *         if this process cannot make, restrict and enable a ring: a daemon that
     *         would refuse every acquire must not say it is ready
     */
    public static Daemon start(DaemonConfig config, RingBroker broker, Map<String, String> env) throws IOException {
        requireNonNull(config, "config");
        requireNonNull(broker, "broker");
        try {
            RingPreflight.check();
            SdNotify notify = SdNotify.fromEnvironment(env);
            int adminGid = -1;
            if (config.adminGroup() != null) {
                adminGid = SystemFacts.groupId(config.adminGroup()).orElseThrow(() -> new IOException(
                        "adminGroup \"" + config.adminGroup() + "\" is not a group of this system (/etc/group)"));
            }
            ServerStats stats = new ServerStats();
            AuditLog audit = new AuditLog();
            AdminService admin = new AdminService(broker, stats, audit, new AdminService.ReloadListener() {
                @Override
                public void reloading() {
                    notify.reloading();
                }

                @Override
                public void reloaded(Response.Reloaded result) {
                    notify.ready(statusLine(broker, stats));
                }
            });
            SocketActivation.Inherited inherited = SocketActivation.fromEnvironment(env, ProcessHandle.current().pid());
            DaemonServer server = DaemonServer.start(config, broker, admin, stats, audit, adminGid, inherited);
            OciAgentServer agent;
            try {
                agent = startAgent(config, inherited, broker, audit, notify);
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            }
            @Nullable ScheduledExecutorService updates = null;
            if (notify.enabled()) {
                updates = Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "ringwarden-sd-status");
                    t.setDaemon(true);
                    return t;
                });
                String[] last = {""};
                updates.scheduleWithFixedDelay(() -> {
                    String s = statusLine(broker, stats);
                    if (!s.equals(last[0])) {
                        last[0] = s;
                        notify.status(s);
                    }
                }, 5, 5, TimeUnit.SECONDS);
            }
            Daemon d = new Daemon(broker, server, admin, notify, stats, updates);
            d.agent = agent;
            notify.ready(statusLine(broker, stats));
            LOG.info("ringwarden daemon ready: {}", statusLine(broker, stats));
            return d;
        } catch (IOException | RuntimeException e) {
            broker.close();
            throw e;
        }
    }

    /**
     * The OCI agent socket (docs/containers.md): systemd's {@code oci-agent} socket, else the
     * configured path bound here; null when neither is there.
     */
    private static @Nullable OciAgentServer startAgent(DaemonConfig config,
            SocketActivation.Inherited inherited, RingBroker broker, AuditLog audit, SdNotify notify) throws IOException {
        org.ringwarden.daemon.oci.ContainerFdStore store = new org.ringwarden.daemon.oci.ContainerFdStore(notify,
                inherited.stored());
        OciAgentServer agent = startAgentSocket(config, inherited, broker, audit, store);
        if (agent != null) {
            agent.reattach(inherited.stored());
        } else {
            for (var e : inherited.stored().entrySet()) {
                // Stored by an earlier start that served containers; this one does not.
                org.ringwarden.linux.Descriptors.closeQuietly(e.getValue());
                notify.send("FDSTOREREMOVE=1\nFDNAME=" + e.getKey());
            }
        }
        return agent;
    }

    private static @Nullable OciAgentServer startAgentSocket(DaemonConfig config, SocketActivation.Inherited inherited,
            RingBroker broker, AuditLog audit, org.ringwarden.daemon.oci.ContainerFdStore store) throws IOException {
        if (inherited.agentFd() >= 0) {
            LOG.info("serving OCI agent socket fd {} from systemd", inherited.agentFd());
            return OciAgentServer.start(inherited.agentFd(), null, broker::attachContainer, audit, store);
        }
        var s = config.agentSocket();
        if (s == null) {
            return null;
        }
        SocketFiles.prepare(s.path());
        int fd = org.ringwarden.linux.UnixSockets.listen(s.path().toString(), 128);
        try {
            SocketFiles.applyOwnership(s);
        } catch (IOException | RuntimeException e) {
            org.ringwarden.linux.Descriptors.closeQuietly(fd);
            java.nio.file.Files.deleteIfExists(s.path());
            throw e;
        }
        LOG.info("serving OCI agent socket {} (mode 0{})", s.path(), Integer.toOctalString(s.mode()));
        return OciAgentServer.start(fd, s.path(), broker::attachContainer, audit, store);
    }

    private static String statusLine(RingBroker broker, ServerStats stats) {
        return "serving: " + Counted.of(broker.policyCount(), "policy", "policies") + ", "
                + Counted.of(broker.leaseCount(), "lease", "leases") + ", "
                + Counted.of(stats.connections(), "connection", "connections");
    }

    /** SIGHUP reloads the policies; SIGTERM and SIGINT end {@link #awaitStop}. */
    public void installSignalHandlers() {
        sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> Thread.ofPlatform().name("ringwarden-reload")
                .start(admin::reloadBySignal));
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> stop());
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> stop());
    }

    /** Reloads the policies as SIGHUP does. */
    public Response.Reloaded reload() {
        return admin.reloadBySignal();
    }

    /** Makes {@link #awaitStop} return. */
    public void stop() {
        stop.countDown();
    }

    /** Blocks until {@link #stop} (or a stopping signal). */
    public void awaitStop() throws InterruptedException {
        stop.await();
    }

    public ServerStats stats() {
        return stats;
    }

    public AdminService admin() {
        return admin;
    }

    /** {@code STOPPING=1}, stop accepting, close every connection and lease, remove the sockets it created. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        notify.stopping();
        LOG.info("stopping: {}", statusLine(broker, stats));
        if (statusUpdates != null) {
            statusUpdates.shutdownNow();
        }
        try {
            if (agent != null) {
                agent.close();
            }
            server.close();
        } finally {
            try {
                broker.close();
            } finally {
                // The audit log is written behind the decisions: the last records (the leases
                // the broker just ended) must be in the file before the daemon exits.
                AuditLog.flush();
            }
        }
        stop.countDown();
    }
}
