package org.ringwarden.linux;

/** The type of a file: the {@code S_IFMT} bits of its mode ({@code stat(2)}, {@code inode(7)}). */
public enum FileType {
    FIFO(0010000, "a FIFO"),
    CHARACTER_DEVICE(0020000, "a character device"),
    DIRECTORY(0040000, "a directory"),
    BLOCK_DEVICE(0060000, "a block device"),
    REGULAR(0100000, "a regular file"),
    SYMLINK(0120000, "a symbolic link"),
    SOCKET(0140000, "a socket"),
    /** {@code S_IFMT} bits no other constant has (an anonymous inode may carry none). */
    UNKNOWN(-1, "a file of unknown type");

    /** The mask of the type bits in {@code st_mode}. */
    public static final int S_IFMT = 0170000;

    private final int bits;
    private final String description;

    FileType(int bits, String description) {
        this.bits = bits;
        this.description = description;
    }

    /** The {@code S_IF*} value ({@code S_IFREG} for {@link #REGULAR}); -1 for {@link #UNKNOWN}. */
    public int bits() {
        return bits;
    }

    /** For messages: {@code "a regular file"}, {@code "a FIFO"}. */
    public String description() {
        return description;
    }

    /** The type of a file whose {@code st_mode} is {@code mode}. */
    public static FileType ofMode(int mode) {
        int type = mode & S_IFMT;
        for (FileType t : values()) {
            if (t.bits == type) {
                return t;
            }
        }
        return UNKNOWN;
    }
}
