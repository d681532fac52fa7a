/**
 * The client library for sandboxed programs: {@link org.ringwarden.client.RingwardenClient}
 * connects to the daemon and acquires a {@link org.ringwarden.client.BrokeredRing}.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.client;

import org.jspecify.annotations.NullMarked;
