/**
 * The JSON policy language: the strict, location-aware loader, rules and warnings, and the
 * compiler to {@code io_uring_restriction} entries.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.policy;

import org.jspecify.annotations.NullMarked;
