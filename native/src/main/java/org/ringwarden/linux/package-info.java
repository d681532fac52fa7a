/**
 * Raw Linux system calls through FFM: descriptors, memory mappings, pidfds, {@code SCM_RIGHTS},
 * polling and the other kernel calls the broker and the client make.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.linux;

import org.jspecify.annotations.NullMarked;
