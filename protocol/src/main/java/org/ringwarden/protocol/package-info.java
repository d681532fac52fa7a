/**
 * The wire protocol (docs/protocol.md): the message records, error codes, framing, the codec
 * and the one blocking connection, shared by the client library, {@code ringwarden run} and
 * the daemon.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.protocol;

import org.jspecify.annotations.NullMarked;
