package org.ringwarden.daemon.systemd;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;

/**
 * The operational log's line format. Under systemd ({@code JOURNAL_STREAM} set: stderr is the
 * journal) a line is {@code <N>logger: message} with the syslog priority prefix journald
 * understands and no timestamp (the journal has its own); elsewhere it is
 * {@code 2026-11-29T17:00:00.123 INFO  [thread] logger: message}.
 */
public final class JournalLayout extends LayoutBase<ILoggingEvent> {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS")
            .withZone(ZoneId.systemDefault());
    private final boolean journal;

    /** The layout for this process: journal form when {@code JOURNAL_STREAM} is set. */
    public JournalLayout() {
        this(System.getenv("JOURNAL_STREAM") != null);
    }

    JournalLayout(boolean journal) {
        this.journal = journal;
    }

    @Override
    public String doLayout(ILoggingEvent e) {
        StringBuilder b = new StringBuilder(128);
        String logger = shortName(e.getLoggerName());
        if (journal) {
            b.append('<').append(syslogPriority(e.getLevel())).append('>');
        } else {
            b.append(TIME.format(Instant.ofEpochMilli(e.getTimeStamp()))).append(' ');
            b.append(String.format("%-5s", e.getLevel())).append(" [").append(e.getThreadName()).append("] ");
        }
        b.append(logger).append(": ").append(e.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
        if (e.getThrowableProxy() != null) {
            String trace = ThrowableProxyUtil.asString(e.getThrowableProxy());
            if (journal) {
                // One journal entry per line: keep the priority on every line of the trace.
                String prefix = "<" + syslogPriority(e.getLevel()) + ">";
                for (String line : trace.split("\n")) {
                    b.append(prefix).append(line).append(CoreConstants.LINE_SEPARATOR);
                }
            } else {
                b.append(trace).append(CoreConstants.LINE_SEPARATOR);
            }
        }
        return b.toString();
    }

    /** sd-daemon(3) priorities: 3 err, 4 warning, 6 info, 7 debug. */
    static int syslogPriority(Level level) {
        return switch (level.toInt()) {
            case Level.ERROR_INT -> 3;
            case Level.WARN_INT -> 4;
            case Level.INFO_INT -> 6;
            default -> 7;
        };
    }

    private static String shortName(String logger) {
        int dot = logger.lastIndexOf('.');
        return dot < 0 ? logger : logger.substring(dot + 1);
    }
}
