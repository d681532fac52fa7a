package org.ringwarden.daemon.oci;

import org.ringwarden.daemon.grant.ContainerRef;
import org.ringwarden.protocol.RefusedException;

/** Where the agent socket hands a container's listener: the policy check and the attachment. */
@FunctionalInterface
public interface ContainerAttacher {
    /**
     * Attaches {@code listenerFd} (owned from the call on, closed on refusal too) for
     * {@code container}'s process {@code pid} under policy {@code policy}.
     *
     * @throws RefusedException {@code NOT_PERMITTED} if the policy does not exist, is not for
     *                          transparent use or does not admit the container; as
     *                          {@code GrantService.attachContainer} otherwise
     * @param detached run once when no process is left under the container's filter
     */
    void attach(ContainerRef container, String policy, int pid, int listenerFd, Runnable detached)
            throws RefusedException;
}
