package org.ringwarden.daemon.config;

import java.nio.file.Path;

/**
 * Where the audit records go.
 *
 * @param destination {@link Destination#STDOUT} (journald-friendly: one JSON line per record on
 *                    standard output), {@link Destination#STDERR}, or {@link Destination#FILE}
 * @param file        the file for {@link Destination#FILE}, else {@code null}
 */
public record AuditSettings(Destination destination, Path file) {
    /** The default: a file, since an audit trail should outlive the journal's rotation. */
    public static final AuditSettings DEFAULT = new AuditSettings(Destination.FILE, Path.of("/var/log/ringwarden/audit.jsonl"));

    /** The kinds of audit destination. */
    public enum Destination { FILE, STDOUT, STDERR }

    public AuditSettings {
        if (destination == null) {
            throw new IllegalArgumentException("audit.destination is required");
        }
        if (destination == Destination.FILE && (file == null || !file.isAbsolute())) {
            throw new IllegalArgumentException("audit.file must be an absolute path when audit.destination is \"file\"");
        }
        if (destination != Destination.FILE && file != null) {
            throw new IllegalArgumentException("audit.file is only meaningful with audit.destination \"file\"");
        }
    }
}
