package org.ringwarden.policy;

import java.util.StringJoiner;

import org.ringwarden.linux.Descriptors;

/**
 * The extra {@code O_*} flags a policy may ask for on a fixed file ({@code "openFlags": ["DIRECT"]}).
 * The access mode, {@code O_APPEND} and {@code O_CREAT} come from {@code access}; {@code O_CLOEXEC}
 * is always set; flags that change what is opened ({@code O_PATH}, {@code O_TRUNC}, {@code O_TMPFILE})
 * are not in the language.
 */
public enum OpenFlag {
    DIRECT(Descriptors.O_DIRECT),
    DSYNC(Descriptors.O_DSYNC),
    SYNC(04010000),
    NOATIME(Descriptors.O_NOATIME),
    NONBLOCK(Descriptors.O_NONBLOCK),
    NOCTTY(Descriptors.O_NOCTTY);

    private final int bits;

    OpenFlag(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    /** {@code O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC}-style text for {@code flags}. */
    public static String describe(int flags) {
        StringJoiner j = new StringJoiner("|");
        j.add(switch (flags & 3) {
            case Descriptors.O_WRONLY -> "O_WRONLY";
            case Descriptors.O_RDWR -> "O_RDWR";
            case Descriptors.O_RDONLY -> "O_RDONLY";
            default -> "O_ACCMODE?";
        });
        int rest = flags & ~3;
        if ((rest & Descriptors.O_APPEND) != 0) {
            j.add("O_APPEND");
        }
        if ((rest & Descriptors.O_CREAT) != 0) {
            j.add("O_CREAT");
        }
        rest &= ~(Descriptors.O_APPEND | Descriptors.O_CREAT);
        if ((rest & SYNC.bits) == SYNC.bits) {
            j.add("O_SYNC");
            rest &= ~SYNC.bits;
        }
        for (OpenFlag f : values()) {
            if (f != SYNC && (rest & f.bits) == f.bits) {
                j.add("O_" + f.name());
                rest &= ~f.bits;
            }
        }
        if ((rest & Descriptors.O_CLOEXEC) != 0) {
            j.add("O_CLOEXEC");
            rest &= ~Descriptors.O_CLOEXEC;
        }
        if (rest != 0) {
            j.add("0" + Integer.toOctalString(rest));
        }
        return j.toString();
    }
}
