/**
 * The entry point of the {@code ringwarden} command and daemon.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon;

import org.jspecify.annotations.NullMarked;
