/**
 * The audit log: records, throttling and the file and journal writers.
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.audit;

import org.jspecify.annotations.NullMarked;
