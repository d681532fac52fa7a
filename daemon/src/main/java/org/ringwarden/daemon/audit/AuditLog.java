package org.ringwarden.daemon.audit;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.format.DateTimeFormatter;
import java.util.function.LongSupplier;

import org.ringwarden.daemon.config.AuditSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;

import org.jspecify.annotations.Nullable;

/**
 * The audit trail: every decision is one JSON object on one line, through its own SLF4J logger
 * {@value #LOGGER_NAME}, which Logback sends to its own appender (never mixed with the
 * operational log). {@link #configure} points that appender at the configured destination.
 *
 * <pre>{@code
 * {"time":"2026-11-29T17:00:00.123Z","event":"grant","pid":4242,"uid":1000,"gid":1000,
 *  "exe":"/usr/bin/app","policy":"reader","lease":"7f3a…","outcome":"ok"}
 * }</pre>
 *
 * <h2>Written behind the decision</h2>
 * {@link #record} only queues the record (its time is taken by the caller, at the decision);
 * one writer thread ({@code ringwarden-audit}) formats and writes queued records in order, and
 * flushes the destination once per batch (one {@code write(2)} for the batch's lines). The request path (the event loop,
 * the seccomp poller) therefore never waits for JSON formatting or a {@code write(2)}: that
 * cost about a fifth of an acquire cycle when three lines per cycle were written inline.
 *
 * <p>The trade-off: a record reaches the file shortly <em>after</em> the client has its answer,
 * not before. Nothing is ever dropped: the queue is bounded ({@value #QUEUE_CAPACITY} records)
 * and a full queue makes {@link #record} wait (back-pressure, not loss). {@link #flush()} waits
 * until every record queued before it is written; the daemon calls it when it stops (after the
 * broker has recorded the leases it ends), and a JVM shutdown hook calls it too, so a clean
 * shutdown (SIGTERM, SIGINT, {@code System.exit}) loses nothing. Only an abrupt end of the JVM
 * (SIGKILL, a crash, the OOM killer) can lose what was still queued: at most the last few
 * milliseconds of decisions, which the same end would also have cut off inside Logback's or
 * the kernel's buffers on a slow disk.
 *
 * <h2>Complete where it matters, bounded where it can be abused</h2>
 * Every grant, every other success and every refused {@code acquire} is written. Other refusals
 * (a trapped call without a ticket, a bad request...) can be repeated by a process as fast as it
 * likes: per (pid, event, code) a few per second are written, then one summary with the number
 * left out ({@link AuditThrottle}). {@code INTERNAL} refusals and policy files that failed to
 * open are also logged to the operational log (this class's logger, the journal), rate-limited
 * the same way ({@link AuditWriter#operational}).
 */
public final class AuditLog {
    /** The logger every audit record goes through. */
    public static final String LOGGER_NAME = "ringwarden.audit";
    private static final String APPENDER_NAME = "AUDIT";

    /** Records queued and not yet written, at most; {@link #record} waits for room beyond it. */
    static final int QUEUE_CAPACITY = 65_536;

    private static final ObjectMapper JSON = new ObjectMapper();
    /** One queue and one writer per process: every {@code AuditLog} shares the one logger, so they share its order. */
    private static final AuditWriter WRITER = writer(System::nanoTime);

    private final AuditWriter writer;

    public AuditLog() {
        this(WRITER);
    }

    /** An audit log through {@code writer} (tests: one whose throttles' clock they move). */
    AuditLog(AuditWriter writer) {
        this.writer = requireNonNull(writer, "writer");
    }

    /**
     * A writer to the audit logger whose throttles read {@code nanos}; operational records also
     * go to this class's logger, which is the daemon's operational log.
     */
    static AuditWriter writer(LongSupplier nanos) {
        return new AuditWriter(LoggerFactory.getLogger(LOGGER_NAME), QUEUE_CAPACITY, AuditLog::flushDestination,
                LoggerFactory.getLogger(AuditLog.class), nanos);
    }

    /**
     * Queues one record for the writer thread (see the class comment), unless it is a repeated
     * refusal over its rate, which is counted for a summary instead. Never throws: an audit
     * write failure is reported by Logback's status, not to the client. Waits only while the
     * queue is full.
     */
    public void record(AuditRecord r) {
        requireNonNull(r, "record");
        writer.add(r);
    }

    /**
     * Waits until every record queued (by any {@code AuditLog}) before this call is written to
     * the destination. Called when the daemon stops, and by tests that read the file.
     */
    public static void flush() {
        WRITER.flush();
    }

    /**
     * Flushes the audit appender's buffer: {@link #configure} turns Logback's flush per line off,
     * and the writer calls this after each batch, so a batch of lines is one {@code write(2)}
     * (three per acquire cycle before) and still reaches the destination before the writer waits
     * again.
     */
    private static void flushDestination() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context
                && context.getLogger(LOGGER_NAME).getAppender(APPENDER_NAME) instanceof OutputStreamAppender<ILoggingEvent> a
                && a.getOutputStream() != null) {
            try {
                a.getOutputStream().flush();
            } catch (IOException e) {
                a.addError("flushing the audit destination failed", e);
            }
        }
    }

    /** The record as the JSON line the log holds; absent fields are left out. */
    public static String toJson(AuditRecord r) {
        // Streamed field by field (a map and databind's map serializer per record cost the audit
        // thread about twice as much, three records per acquire cycle); same fields, same order,
        // same escaping as that serializer.
        java.io.StringWriter out = new java.io.StringWriter(256);
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("time", DateTimeFormatter.ISO_INSTANT.format(r.time()));
            g.writeStringField("event", r.event());
            if (r.pid() > 0) {
                g.writeNumberField("pid", r.pid());
            }
            if (r.uid() >= 0) {
                g.writeNumberField("uid", r.uid());
            }
            if (r.gid() >= 0) {
                g.writeNumberField("gid", r.gid());
            }
            writeIfPresent(g, "exe", r.exe());
            writeIfPresent(g, "policy", r.policy());
            writeIfPresent(g, "lease", r.lease());
            g.writeStringField("outcome", r.outcome());
            if (r.code() != null) {
                g.writeStringField("code", r.code().name());
            }
            writeIfPresent(g, "detail", r.detail());
            if (r.more() > 0) {
                g.writeNumberField("more", r.more());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("audit record cannot be written as JSON", e);
        }
        return out.toString();
    }

    private static void writeIfPresent(JsonGenerator g, String k, @Nullable String v) throws IOException {
        if (v != null) {
            g.writeStringField(k, v);
        }
    }

    /**
     * Sends the audit logger to {@code settings}' destination, replacing whatever appender it
     * had; creates the file's directory (mode from the umask) if needed. A file is rotated at
     * {@code maxFileBytes}, keeps {@code keepFiles} rotated files, and every one of them is mode
     * {@code 0600} ({@code 0640} with a group) whatever the umask ({@link AuditFileAppender}).
     * Does nothing when SLF4J is not bound to Logback (an embedding application configures its own).
     */
    public static void configure(AuditSettings settings) throws IOException {
        requireNonNull(settings, "settings");
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        ch.qos.logback.classic.Logger audit = context.getLogger(LOGGER_NAME);
        audit.setAdditive(false);
        audit.setLevel(ch.qos.logback.classic.Level.INFO);
        OutputStreamAppender<ILoggingEvent> old = (OutputStreamAppender<ILoggingEvent>) audit.getAppender(APPENDER_NAME);
        // Each record is one JSON line already: written as it is, without Logback's pattern machinery.
        LayoutBase<ILoggingEvent> line = new LayoutBase<>() {
            @Override
            public String doLayout(ILoggingEvent e) {
                return e.getFormattedMessage() + "\n";
            }
        };
        line.setContext(context);
        line.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setCharset(java.nio.charset.StandardCharsets.UTF_8);
        encoder.setLayout(line);
        encoder.start();
        OutputStreamAppender<ILoggingEvent> appender;
        switch (settings.destination()) {
            case FILE -> {
                Path file = requireNonNull(settings.file(), "a file destination has a file (AuditSettings)");
                try {
                    if (file.getParent() != null) {
                        Files.createDirectories(file.getParent());
                    }
                    appender = AuditFileAppender.of(settings, context);
                } catch (java.nio.file.FileSystemException e) {
                    throw new IOException(cannotOpen(file, errnoOf(e), e.getFile()), e);
                }
            }
            case STDOUT -> {
                ConsoleAppender<ILoggingEvent> c = new ConsoleAppender<>();
                c.setTarget("System.out");
                appender = c;
            }
            case STDERR -> {
                ConsoleAppender<ILoggingEvent> c = new ConsoleAppender<>();
                c.setTarget("System.err");
                appender = c;
            }
            default -> throw new IllegalStateException("unknown audit destination " + settings.destination());
        }
        appender.setContext(context);
        appender.setName(APPENDER_NAME);
        appender.setEncoder(encoder);
        appender.setImmediateFlush(false); // the writer flushes once per batch (flushDestination)
        long since = System.currentTimeMillis();
        appender.start();
        if (!appender.isStarted()) {
            String why = logbackErrors(context, since);
            throw new IOException(settings.destination() == AuditSettings.Destination.FILE
                    ? cannotOpen(requireNonNull(settings.file(), "a file destination has a file"), why, null)
                    : "cannot write the audit trail to " + settings.destination().name().toLowerCase(java.util.Locale.ROOT)
                    + ": " + why);
        }
        if (old != null) {
            audit.detachAppender(old);
            old.stop();
        }
        audit.addAppender(appender);
    }

    /**
     * Why the audit file cannot be opened, in words an administrator acts on: the file, the
     * errno (and the path it concerns, when that is a directory on the way), and what to do.
     */
    static String cannotOpen(Path file, String errno, @Nullable String failedPath) {
        String uid = org.ringwarden.linux.ThreadCredentials.realUid() + "";
        StringBuilder b = new StringBuilder("cannot open the audit file ").append(file).append(": ").append(errno);
        if (failedPath != null && !failedPath.equals(file.toString())) {
            b.append(" (on ").append(failedPath).append(')');
        }
        b.append(". The daemon (uid ").append(uid).append(") must be able to create and write it. Either run the daemon"
                + " as a user that may (root, or user ringwarden under its unit, whose LogsDirectory= is"
                + " /var/log/ringwarden), or write the trail elsewhere: --audit FILE or --audit stdout, or \"audit\" in"
                + " the --config file (docs/configuration.md).");
        return b.toString();
    }

    /** The errno behind a failed file operation, as {@code EACCES (Permission denied)}. */
    static String errnoOf(java.nio.file.FileSystemException e) {
        org.ringwarden.linux.Errno errno = switch (e) {
            case java.nio.file.AccessDeniedException a -> org.ringwarden.linux.Errno.EACCES;
            case java.nio.file.NoSuchFileException n -> org.ringwarden.linux.Errno.ENOENT;
            case java.nio.file.FileAlreadyExistsException x -> org.ringwarden.linux.Errno.EEXIST;
            case java.nio.file.NotDirectoryException x -> org.ringwarden.linux.Errno.ENOTDIR;
            default -> {
                org.ringwarden.linux.Errno found = null;
                for (org.ringwarden.linux.Errno c : org.ringwarden.linux.Errno.values()) {
                    if (c.description().equals(e.getReason())) {
                        found = c;
                    }
                }
                yield found;
            }
        };
        if (errno == null) {
            return String.valueOf(e.getReason() != null ? e.getReason() : e.getClass().getSimpleName());
        }
        return errno.name() + " (" + errno.description() + ")";
    }

    /** Logback's error messages (and their causes) since {@code sinceMillis}: why an appender did not start. */
    private static String logbackErrors(LoggerContext context, long sinceMillis) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (ch.qos.logback.core.status.Status st : context.getStatusManager().getCopyOfStatusList()) {
            if (st.getLevel() == ch.qos.logback.core.status.Status.ERROR && st.getTimestamp() >= sinceMillis) {
                Throwable t = st.getThrowable();
                out.add(st.getMessage() + (t == null ? "" : ": " + t.getMessage()));
            }
        }
        return out.isEmpty() ? "Logback did not start its appender and said nothing" : String.join("; ", out);
    }
}
