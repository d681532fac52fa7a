/**
 * The daemon's configuration file and its settings.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.config;

import org.jspecify.annotations.NullMarked;
