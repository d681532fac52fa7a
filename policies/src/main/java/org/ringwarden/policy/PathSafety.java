package org.ringwarden.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * Who besides root and the daemon's user could put something else where a policy names a fixed
 * file: the directories on its path, as the file system has them now. A FIFO there would once
 * have held a ring builder for good (the daemon now refuses it), but a user who can rename
 * entries in any of those directories can still swap the file for another one of the right
 * type. Reads the file system: {@link PolicyRules} asks only when {@code Options.checkFiles} is
 * on, and reports each reason as {@link ProblemCode#REPLACEABLE_FILE}.
 */
final class PathSafety {
    private static final String WITH = " with a FIFO, a symlink or another file";
    private static final int STICKY = 01000;

    private PathSafety() {
    }

    /**
     * One sentence per directory on {@code file}'s path (nearest first, up to {@code /}) that
     * someone other than root or {@code self} owns, or may write without the sticky bit
     * protecting the entry on the path. Directories that do not exist are skipped (their parent
     * speaks for them); with {@code followSymlinks} the directories the links lead to count too.
     */
    static List<String> replaceableBy(Path file, boolean followSymlinks, int self) {
        Set<String> reasons = new LinkedHashSet<>();
        walk(file, self, reasons);
        if (followSymlinks) {
            Path real = realPath(file);
            if (!real.equals(file)) {
                walk(real, self, reasons);
            }
        }
        return new ArrayList<>(reasons);
    }

    private static void walk(Path file, int self, Set<String> reasons) {
        Path child = file;
        for (Path dir = file.getParent(); dir != null; child = dir, dir = dir.getParent()) {
            String why;
            try {
                why = unsafe(dir, child, self);
            } catch (IOException | RuntimeException e) {
                continue; // gone, or not a directory: nothing to say about it
            }
            if (why != null) {
                reasons.add(why);
            }
        }
    }

    private static @Nullable String unsafe(Path dir, Path child, int self) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return null; // missing, or a symlink (which an open without followSymlinks refuses anyway)
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        String name = "`" + PolicyReader.printable(child.getFileName().toString()) + "`";
        String at = "`" + PolicyReader.printable(dir.toString()) + "`";
        if (owner != 0 && owner != self) {
            return at + " is owned by uid " + owner + ": that user could replace " + name + WITH;
        }
        if ((mode & 0022) == 0) {
            return null;
        }
        int gid = (Integer) Files.getAttribute(dir, "unix:gid", LinkOption.NOFOLLOW_LINKS);
        boolean others = (mode & 0002) != 0;
        String writers = others ? "everyone" : "group " + gid;
        String who = others ? "anyone" : "a member";
        if ((mode & STICKY) == 0) {
            return at + " is writable by " + writers + ": " + who + " could replace " + name + WITH;
        }
        // Sticky: only the entry's owner (and the directory's) may rename or remove it.
        if (!Files.exists(child, LinkOption.NOFOLLOW_LINKS)) {
            return at + " is writable by " + writers + " and " + name + " does not exist there yet: " + who
                    + " could create it first, as a FIFO, a symlink or another file";
        }
        int childOwner = (Integer) Files.getAttribute(child, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (childOwner != 0 && childOwner != self) {
            return at + " is writable by " + writers + " and " + name + " there is owned by uid " + childOwner
                    + ": the sticky bit does not stop that user from replacing it" + WITH;
        }
        return null;
    }

    /** The uid this process runs as (the daemon's user, when the daemon loads), or -1 if it cannot be told. */
    static int selfUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** {@code p} with the symlinks of its longest existing prefix resolved. */
    private static Path realPath(Path p) {
        Path existing = p;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return p;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(p));
        } catch (IOException | RuntimeException e) {
            return p;
        }
    }
}
