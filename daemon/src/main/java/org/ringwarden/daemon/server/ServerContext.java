package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.config.Limits;

/** What every connection handler shares. */
record ServerContext(Limits limits, RingBroker broker, AdminService admin, ServerStats stats, AuditLog audit,
                     ExecutorService requests, int adminGid, ConnectionLimiter clients, ConnectionLimiter admins,
                     AtomicLong connectionIds) {
    ServerContext {
        requireNonNull(limits, "limits");
        requireNonNull(broker, "broker");
        requireNonNull(admin, "admin");
        requireNonNull(stats, "stats");
        requireNonNull(audit, "audit");
        requireNonNull(requests, "requests");
        requireNonNull(clients, "clients");
        requireNonNull(admins, "admins");
        requireNonNull(connectionIds, "connectionIds");
    }
}
