package org.ringwarden.daemon.server;

import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.client.protocol.Response;

/** The administrative requests of the admin socket, answered by the daemon (org.ringwarden.daemon.admin). */
public interface AdminActions {
    /** {@code status}: cheap, called on the event loop. */
    Response.StatusReport status();

    /** {@code leases}: cheap, called on the event loop. */
    Response.LeaseList leases();

    /** {@code reload}: blocking, called from the request executor; {@code by} is the administrator who asked. */
    Response.Reloaded reload(Peer by);
}
