package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.FileType;

/**
 * A file the daemon opens for the client and registers as a fixed file, at the index of its
 * position in {@link CompiledPolicy#files()}. Open it with
 * {@code Descriptors.openat2(path, openFlags, createMode, resolveFlags)}.
 *
 * @param name         the name the grant reports for this index
 * @param path         absolute, normalised
 * @param openFlags    {@code O_*} flags: the least access mode the allowed opcodes need, always {@code O_CLOEXEC}
 * @param createMode   permission bits when {@code O_CREAT} is in {@code openFlags}, else 0
 * @param resolveFlags {@code RESOLVE_*} flags ({@code RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS} unless the policy opts out)
 * @param type         what the opened file must be ({@link FileType#REGULAR} unless the policy says otherwise);
 *                     the daemon opens it {@code O_NONBLOCK}, checks with {@code fstat} and refuses anything else
 */
public record FileSpec(String name, Path path, int openFlags, int createMode, long resolveFlags, FileType type) {
    public FileSpec {
        requireNonNull(name, "name");
        requireNonNull(path, "path");
        requireNonNull(type, "type");
    }

    /** A regular file. */
    public FileSpec(String name, Path path, int openFlags, int createMode, long resolveFlags) {
        this(name, path, openFlags, createMode, resolveFlags, FileType.REGULAR);
    }

    /** {@code O_RDONLY}, {@code O_WRONLY} or {@code O_RDWR}. */
    public int accessMode() {
        return openFlags & 3;
    }

    public boolean readable() {
        return accessMode() != Descriptors.O_WRONLY;
    }

    public boolean writable() {
        return accessMode() != Descriptors.O_RDONLY;
    }

    /** E.g. {@code O_RDONLY|O_CLOEXEC}. */
    public String describeOpenFlags() {
        return OpenFlag.describe(openFlags);
    }
}
