package org.ringwarden.daemon.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;

@Timeout(10)
class JournalLayoutTest {
    private static LoggingEvent event(Level level, String msg) {
        LoggerContext ctx = new LoggerContext();
        LoggingEvent e = new LoggingEvent("x", ctx.getLogger("org.ringwarden.daemon.server.Daemon"), level, msg, null, null);
        e.setTimeStamp(0);
        return e;
    }

    @Test
    void underJournaldLinesCarryTheSyslogPriorityAndNoTimestamp() {
        JournalLayout l = new JournalLayout(true);
        assertThat(l.doLayout(event(Level.WARN, "careful"))).as("warning line").isEqualTo("<4>Daemon: careful"
                + System.lineSeparator());
        assertThat(l.doLayout(event(Level.ERROR, "bad"))).as("error").startsWith("<3>");
        assertThat(l.doLayout(event(Level.INFO, "fine"))).as("info").startsWith("<6>");
        assertThat(l.doLayout(event(Level.DEBUG, "detail"))).as("debug").startsWith("<7>");
    }

    @Test
    void elsewhereLinesCarryATimestampAndLevel() {
        String line = new JournalLayout(false).doLayout(event(Level.INFO, "fine"));
        assertThat(line).as("terminal line").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\[.*\\] Daemon: fine\\R");
    }
}
