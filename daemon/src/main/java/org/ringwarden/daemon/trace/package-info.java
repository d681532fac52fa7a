/**
 * The kernel's io_uring tracepoints, read through a tracefs instance of our own: for
 * {@code ringwarden learn} and {@code ringwarden watch-refusals}.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.trace;

import org.jspecify.annotations.NullMarked;
