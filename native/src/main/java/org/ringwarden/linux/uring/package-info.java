/**
 * The io_uring ABI (opcodes, flags, struct layouts) and {@link org.ringwarden.linux.uring.Ring},
 * which maps a ring, submits and reaps.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.linux.uring;

import org.jspecify.annotations.NullMarked;
