/**
 * The wire protocol (docs/protocol.md): message records, error codes, framing, the codec and
 * the blocking connection, shared by the client library, {@code ringwarden run} and the daemon.
 */
module org.ringwarden.protocol {
    requires transitive org.ringwarden.linux;
    requires com.fasterxml.jackson.databind;

    exports org.ringwarden.protocol;
    // Jackson binds the message records reflectively.
    opens org.ringwarden.protocol to com.fasterxml.jackson.databind;
}
