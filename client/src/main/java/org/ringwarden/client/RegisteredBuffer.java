package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.MemorySegment;

/**
 * A registered (fixed) buffer of a brokered ring: the grant's sealed memfd, mapped into this
 * process. The program reads and writes {@link #segment()}; {@code READ_FIXED}/{@code WRITE_FIXED}
 * prepared through {@link BrokeredRing} get the daemon's address of the same bytes, which is
 * where the kernel registered them. The program never needs that address.
 */
public final class RegisteredBuffer {
    private final int index;
    private final String name;
    private final MemorySegment segment;
    private final long daemonAddress;

    RegisteredBuffer(int index, String name, MemorySegment segment, long daemonAddress) {
        this.index = index;
        this.name = requireNonNull(name, "name");
        this.segment = requireNonNull(segment, "segment");
        this.daemonAddress = daemonAddress;
    }

    /** The buffer's index in the ring's registered buffers ({@code buf_index}). */
    public int index() {
        return index;
    }

    /** The name the policy gave it. */
    public String name() {
        return name;
    }

    /** This process's mapping of the buffer; invalid once the ring is closed. */
    public MemorySegment segment() {
        return segment;
    }

    /** Its length in bytes. */
    public long length() {
        return segment.byteSize();
    }

    /** True if {@code slice} lies inside this buffer's mapping. */
    boolean contains(MemorySegment slice) {
        long start = slice.address() - segment.address();
        return start >= 0 && start + slice.byteSize() <= segment.byteSize();
    }

    /** The address the kernel knows for byte {@code offset} of this buffer. */
    long kernelAddress(long offset) {
        return daemonAddress + offset;
    }

    @Override
    public String toString() {
        return "RegisteredBuffer[" + index + " '" + name + "', " + segment.byteSize() + " bytes]";
    }
}
