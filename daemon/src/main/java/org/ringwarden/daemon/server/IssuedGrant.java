package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import org.ringwarden.protocol.Response;

/**
 * A grant ready to send: the frame and the descriptors that follow it, in order. The
 * descriptors belong to the lease; the server sends them and never closes them.
 */
public record IssuedGrant(Response.Grant grant, int[] descriptors) {
    public IssuedGrant {
        requireNonNull(grant, "grant");
        requireNonNull(descriptors, "descriptors");
        if (descriptors.length != grant.fds()) {
            throw new IllegalArgumentException("grant announces " + grant.fds() + " descriptors but carries "
                    + descriptors.length);
        }
        descriptors = descriptors.clone();
    }

    @Override
    public int[] descriptors() {
        return descriptors.clone();
    }
}
