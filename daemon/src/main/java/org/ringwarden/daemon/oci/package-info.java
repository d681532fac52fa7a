/**
 * The OCI seccomp agent socket (docs/containers.md): runc and crun send a container's seccomp
 * listener here, and it becomes an attachment of the grant service under the policy the
 * profile's {@code listenerMetadata} names. Above {@code grant}, below {@code server}.
 */
@NullMarked
package org.ringwarden.daemon.oci;

import org.jspecify.annotations.NullMarked;
