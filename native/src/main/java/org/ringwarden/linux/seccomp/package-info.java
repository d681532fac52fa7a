/**
 * Seccomp: classic-BPF filters and the user-notification listener through which rings are
 * delivered.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.linux.seccomp;

import org.jspecify.annotations.NullMarked;
