package org.ringwarden.linux;

/**
 * What {@code fstat(2)} says about an open file (the fields ringwarden uses).
 *
 * @param device the device the file is on ({@code st_dev})
 * @param inode  its inode number ({@code st_ino})
 * @param mode   type and permission bits ({@code st_mode})
 * @param uid    its owner
 * @param gid    its group
 * @param size   its size in bytes (0 for most special files)
 */
public record FileStatus(long device, long inode, int mode, int uid, int gid, long size) {
    /** The type, from {@code mode}. */
    public FileType type() {
        return FileType.ofMode(mode);
    }

    /** The permission bits, setuid, setgid and sticky included ({@code mode & 07777}). */
    public int permissions() {
        return mode & 07777;
    }
}
