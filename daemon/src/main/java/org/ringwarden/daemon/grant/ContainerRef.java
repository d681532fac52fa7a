package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import org.ringwarden.policy.ContainerSubject;

import org.jspecify.annotations.Nullable;

/**
 * The container behind an attachment made by the OCI agent socket (docs/containers.md), as
 * its runtime described it: the state's id and bundle, the pod from the bundle's
 * {@code config.json} annotations, and the profile's {@code listenerMetadata}. For audit and
 * for the policies' {@code subjects.containers}.
 *
 * @param subject  what policies match: id, pod namespace and name
 * @param bundle   the bundle directory the runtime named
 * @param metadata the profile's {@code listenerMetadata}, as sent
 */
public record ContainerRef(ContainerSubject subject, String bundle, String metadata) {
    public ContainerRef {
        requireNonNull(subject, "subject");
        requireNonNull(bundle, "bundle");
        requireNonNull(metadata, "metadata");
    }

    /** {@code container id=t1 pod=db/pg-0 bundle=/run/...}: what an audit line says about it. */
    public String describe() {
        @Nullable String ns = subject.podNamespace();
        @Nullable String name = subject.podName();
        return "container id=" + subject.id()
                + (ns == null && name == null ? "" : " pod=" + (ns == null ? "?" : ns) + "/" + (name == null ? "?" : name))
                + " bundle=" + bundle;
    }
}
