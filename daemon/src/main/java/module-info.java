/** The broker ({@code ringwarden daemon}), its administration and the {@code ringwarden} CLI. An application: nothing is exported. */
module org.ringwarden.daemon {
    requires org.ringwarden.linux;
    requires org.ringwarden.policies;
    requires org.ringwarden.protocol;
    requires org.ringwarden.client;
    requires com.fasterxml.jackson.core;
    requires com.fasterxml.jackson.databind;
    requires io.netty.buffer;
    requires io.netty.codec;
    requires io.netty.common;
    requires io.netty.transport;
    requires io.netty.transport.classes.epoll;
    requires io.netty.transport.unix.common;
    requires info.picocli;
    requires static info.picocli.codegen;
    requires org.slf4j;
    requires ch.qos.logback.classic;
    requires ch.qos.logback.core;
    // sun.misc.Signal: SIGHUP reloads, SIGTERM stops in order.
    requires jdk.unsupported;

    // picocli builds the command tree reflectively; Jackson binds the configuration records.
    opens org.ringwarden.daemon.cli to info.picocli;
    opens org.ringwarden.daemon.config to com.fasterxml.jackson.databind;
    // Logback introspects its components (the audit appender) reflectively; it finds the set-up through ServiceLoader.
    opens org.ringwarden.daemon.audit to ch.qos.logback.core;
    provides ch.qos.logback.classic.spi.Configurator with org.ringwarden.daemon.systemd.LogbackSetup;
}
