/**
 * The grant domain: peers, leases, ring recipes and the ring builders.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.grant;

import org.jspecify.annotations.NullMarked;
