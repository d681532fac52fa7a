/**
 * Host and kernel checks for the administrative commands (doctor, policy kernel).
 *
 * <p>Null-marked: a type without {@code @Nullable} excludes null, checked by NullAway.
 */
@NullMarked
package org.ringwarden.daemon.admin;

import org.jspecify.annotations.NullMarked;
