/**
 * Transparent mode: ringwarden run, its supervisor and the seccomp setup.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.transparent;

import org.jspecify.annotations.NullMarked;
