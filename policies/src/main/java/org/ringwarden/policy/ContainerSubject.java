package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * A container whose seccomp listener reached the daemon's OCI agent socket, as the daemon
 * learnt it from the runtime (docs/containers.md): never anything the container's own
 * processes said.
 *
 * @param id           the OCI container id from the runtime's state
 * @param podNamespace the Kubernetes pod namespace (bundle annotation
 *                     {@code io.kubernetes.pod.namespace}); null outside Kubernetes
 * @param podName      the Kubernetes pod name ({@code io.kubernetes.pod.name}); null outside Kubernetes
 */
public record ContainerSubject(String id, @Nullable String podNamespace, @Nullable String podName) {
    public ContainerSubject {
        requireNonNull(id, "id");
    }
}
