/**
 * The client library for sandboxed programs: {@code RingwardenClient} acquires rings by policy
 * name and {@code BrokeredRing} drives them. Only {@code org.ringwarden.client} is API.
 */
module org.ringwarden.client {
    requires transitive org.ringwarden.linux;
    requires org.ringwarden.protocol;
    requires org.newsclub.net.unix;

    exports org.ringwarden.client;
}
