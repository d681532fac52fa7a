package org.ringwarden.daemon.config;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * Where the audit records go (docs/configuration.md, "audit").
 *
 * @param destination  {@link Destination#STDOUT} (journald-friendly: one JSON line per record on
 *                     standard output), {@link Destination#STDERR}, or {@link Destination#FILE}
 * @param file         the file for {@link Destination#FILE}, else {@code null}
 * @param maxFileBytes with a file: its size at which it is rotated ({@code audit.jsonl} becomes
 *                     {@code audit.jsonl.1}, and so on)
 * @param keepFiles    with a file: how many rotated files are kept besides the live one
 *                     ({@code audit.jsonl.1} newest ... {@code audit.jsonl.N} oldest)
 * @param group        with a file: the group that owns the files and may read them (mode
 *                     {@code 0640}); null for the daemon's group, mode {@code 0600}
 */
public record AuditSettings(Destination destination, @Nullable Path file, long maxFileBytes, int keepFiles,
                            @Nullable String group) {
    /** Rotate at 64 MiB. */
    public static final long DEFAULT_MAX_FILE_BYTES = 64L << 20;
    /** Keep four rotated files: at most five files of {@link #DEFAULT_MAX_FILE_BYTES} in all. */
    public static final int DEFAULT_KEEP_FILES = 4;
    /** The smallest {@code maxFileBytes}: a file holds at least a few dozen records. */
    public static final long MIN_MAX_FILE_BYTES = 4096;
    /** The most rotated files Logback's fixed window keeps. */
    public static final int MAX_KEEP_FILES = 20;

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
        if (file != null && (file.toString().indexOf('%') >= 0 || file.toString().indexOf('\\') >= 0)) {
            // The rotated files' names are a Logback pattern (FILE.%i): % starts a conversion, and
            // Logback turns \ into /.
            throw new IllegalArgumentException("audit.file must not contain '%' or '\\', not \"" + file + "\"");
        }
        if (maxFileBytes < MIN_MAX_FILE_BYTES) {
            throw new IllegalArgumentException("audit.maxFileBytes must be at least " + MIN_MAX_FILE_BYTES + " (4KiB), not "
                    + maxFileBytes);
        }
        if (keepFiles < 1 || keepFiles > MAX_KEEP_FILES) {
            throw new IllegalArgumentException("audit.keepFiles must be 1 to " + MAX_KEEP_FILES + ", not " + keepFiles);
        }
        if (group != null && group.isBlank()) {
            throw new IllegalArgumentException("audit.group must be a group name or number, not \"" + group + "\"");
        }
    }

    /** {@code destination} and {@code file} with the default size cap, rotated files kept, and no group. */
    public AuditSettings(Destination destination, @Nullable Path file) {
        this(destination, file, DEFAULT_MAX_FILE_BYTES, DEFAULT_KEEP_FILES, null);
    }

    /** The audit files' permissions: {@code 0640} with a group, else {@code 0600}. */
    public Set<PosixFilePermission> filePermissions() {
        return PosixFilePermissions.fromString(group == null ? "rw-------" : "rw-r-----");
    }
}
