/**
 * {@code ringwarden learn}: what a program does with io_uring, from the kernel's tracepoints,
 * and the smallest policy under which it runs.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.learn;

import org.jspecify.annotations.NullMarked;
