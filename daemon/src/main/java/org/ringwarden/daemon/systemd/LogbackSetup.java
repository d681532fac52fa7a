package org.ringwarden.daemon.systemd;

import java.util.Locale;

import org.jspecify.annotations.Nullable;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * ringwarden's logging, set up in code rather than from {@code logback.xml}: Logback's XML
 * configurator (Joran) and the JDK's XML parser were about 600 of the daemon's 4,300 classes,
 * and several MiB of its resident memory, for four settings (bench/README.md, "Daemon
 * footprint"). Logback finds this class through {@code ServiceLoader} before it looks for any
 * XML file.
 *
 * <p>Two streams that never mix:
 * <ul>
 * <li>the operational log on stderr, journald-friendly ({@link JournalLayout}: {@code <N>}
 *     priority prefixes and no timestamps when {@code JOURNAL_STREAM} is set, i.e. when stderr
 *     is the journal), at {@code RINGWARDEN_LOG_LEVEL} (default {@code info});</li>
 * <li>the audit trail, logger {@code ringwarden.audit}: one JSON object per line, sent by the
 *     daemon at start to the destination its configuration names ({@code AuditLog.configure});
 *     until then, and in the CLI's other commands, it goes nowhere.</li>
 * </ul>
 */
public final class LogbackSetup extends ContextAwareBase implements Configurator {
    /** Logback's service loader needs a public no-argument constructor. */
    public LogbackSetup() {
    }

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        JournalLayout layout = new JournalLayout();
        layout.setContext(context);
        layout.start();
        encoder.setLayout(layout);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();

        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(level(System.getenv("RINGWARDEN_LOG_LEVEL")));
        root.addAppender(stderr);
        Logger audit = context.getLogger("ringwarden.audit");
        audit.setLevel(Level.INFO);
        audit.setAdditive(false);
        context.getLogger("io.netty").setLevel(Level.WARN);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** {@code RINGWARDEN_LOG_LEVEL} as a level: {@code debug}, {@code info}, {@code warn}...; info otherwise. */
    static Level level(@Nullable String value) {
        return value == null || value.isBlank() ? Level.INFO : Level.toLevel(value.strip().toUpperCase(Locale.ROOT), Level.INFO);
    }
}
