/**
 * The ringwarden command line (picocli).
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.cli;

import org.jspecify.annotations.NullMarked;
