/**
 * The daemon's server: sockets, connections, framing and the brokers.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.server;

import org.jspecify.annotations.NullMarked;
