package org.ringwarden.protocol;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The frame format (protocol.md, "Frames"): a 4-byte unsigned big-endian length {@code N},
 * {@code 1 <= N <= }{@link #MAX_LENGTH}, then {@code N} bytes of one UTF-8 JSON object.
 * Blocking stream helpers for clients and tools; the daemon frames with Netty.
 */
public final class Frames {
    /** The largest frame body, 64 KiB. */
    public static final int MAX_LENGTH = 65_536;
    /** The size of the length prefix. */
    public static final int HEADER_LENGTH = 4;

    private Frames() {
    }

    /** The length prefix followed by {@code body}. */
    public static byte[] frame(byte[] body) {
        checkLength(body.length);
        byte[] out = new byte[HEADER_LENGTH + body.length];
        int n = body.length;
        out[0] = (byte) (n >>> 24);
        out[1] = (byte) (n >>> 16);
        out[2] = (byte) (n >>> 8);
        out[3] = (byte) n;
        System.arraycopy(body, 0, out, HEADER_LENGTH, n);
        return out;
    }

    /** Writes one frame and flushes. */
    public static void write(OutputStream out, byte[] body) throws IOException {
        out.write(frame(body));
        out.flush();
    }

    /**
     * Reads one frame body.
     *
     * @throws EOFException      if the stream ends before or inside the frame
     * @throws RefusedException if the length is out of range
     */
    public static byte[] read(InputStream in) throws IOException, RefusedException {
        DataInputStream data = in instanceof DataInputStream d ? d : new DataInputStream(in);
        long n = Integer.toUnsignedLong(data.readInt());
        if (n < 1 || n > MAX_LENGTH) {
            throw new RefusedException(ErrorCode.BAD_REQUEST, "frame length " + n + " is outside 1.." + MAX_LENGTH);
        }
        byte[] body = new byte[(int) n];
        data.readFully(body);
        return body;
    }

    private static void checkLength(int n) {
        if (n < 1 || n > MAX_LENGTH) {
            throw new IllegalArgumentException("frame body of " + n + " bytes is outside 1.." + MAX_LENGTH);
        }
    }
}
