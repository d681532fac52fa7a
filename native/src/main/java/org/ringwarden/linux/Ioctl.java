package org.ringwarden.linux;

/**
 * The {@code _IOC} encoding of ioctl request numbers ({@code include/uapi/asm-generic/ioctl.h},
 * which x86_64 uses): {@code dir << 30 | size << 16 | type << 8 | nr}, with
 * {@code dir} 0 for {@code _IO}, 1 for {@code _IOW} (user writes, kernel reads), 2 for
 * {@code _IOR}, 3 for {@code _IOWR}. Computing the numbers from the struct sizes, rather than
 * copying hex, keeps them honest when a layout is reviewed; tests pin the results against the
 * values the C header produces.
 */
public final class Ioctl {
    private static final int NRBITS = 8;
    private static final int TYPEBITS = 8;
    private static final int SIZEBITS = 14;
    private static final int NRSHIFT = 0;
    private static final int TYPESHIFT = NRSHIFT + NRBITS;
    private static final int SIZESHIFT = TYPESHIFT + TYPEBITS;
    private static final int DIRSHIFT = SIZESHIFT + SIZEBITS;

    private static final long NONE = 0;
    private static final long WRITE = 1;
    private static final long READ = 2;

    private Ioctl() {
    }

    /** {@code _IOC(dir, type, nr, size)}. */
    public static long ioc(long dir, char type, int nr, long size) {
        if (size < 0 || size >= (1L << SIZEBITS)) {
            throw new IllegalArgumentException("ioctl argument size out of range: " + size);
        }
        if (nr < 0 || nr > 0xff || type > 0xff) {
            throw new IllegalArgumentException("ioctl type/nr out of range: " + (int) type + "/" + nr);
        }
        return dir << DIRSHIFT | size << SIZESHIFT | (long) type << TYPESHIFT | (long) nr << NRSHIFT;
    }

    /** {@code _IO(type, nr)}: no argument. */
    public static long io(char type, int nr) {
        return ioc(NONE, type, nr, 0);
    }

    /** {@code _IOW(type, nr, size)}: the kernel reads {@code size} bytes from the caller. */
    public static long iow(char type, int nr, long size) {
        return ioc(WRITE, type, nr, size);
    }

    /** {@code _IOR(type, nr, size)}: the kernel writes {@code size} bytes to the caller. */
    public static long ior(char type, int nr, long size) {
        return ioc(READ, type, nr, size);
    }

    /** {@code _IOWR(type, nr, size)}: both ways. */
    public static long iowr(char type, int nr, long size) {
        return ioc(READ | WRITE, type, nr, size);
    }
}
