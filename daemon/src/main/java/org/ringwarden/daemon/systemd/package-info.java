/**
 * systemd integration: socket activation, sd_notify and the journal layout.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.systemd;

import org.jspecify.annotations.NullMarked;
