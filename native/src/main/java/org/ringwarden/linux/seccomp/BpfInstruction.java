package org.ringwarden.linux.seccomp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One classic-BPF instruction, {@code struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }}
 * (8 bytes, little-endian on x86_64).
 *
 * @param code the opcode ({@code BPF_CLASS | BPF_SIZE/BPF_OP | BPF_MODE/BPF_SRC})
 * @param jt   instructions to skip when a conditional jump is taken (0..255)
 * @param jf   instructions to skip when it is not (0..255)
 * @param k    the constant operand
 */
public record BpfInstruction(int code, int jt, int jf, int k) {
    // The parts of an opcode, from linux/bpf_common.h (several are 0).
    private static final int BPF_LD = 0x00;
    private static final int BPF_ALU = 0x04;
    private static final int BPF_JMP = 0x05;
    private static final int BPF_RET = 0x06;
    private static final int BPF_W = 0x00;
    private static final int BPF_ABS = 0x20;
    private static final int BPF_AND = 0x50;
    private static final int BPF_JEQ = 0x10;
    private static final int BPF_K = 0x00;

    /** {@code BPF_LD | BPF_W | BPF_ABS}: A = 32-bit word at offset k of {@code struct seccomp_data}. */
    public static final int LD_W_ABS = BPF_LD | BPF_W | BPF_ABS;
    /** {@code BPF_ALU | BPF_AND | BPF_K}: A &= k. */
    public static final int ALU_AND_K = BPF_ALU | BPF_AND | BPF_K;
    /** {@code BPF_JMP | BPF_JEQ | BPF_K}: if A == k skip jt else skip jf. */
    public static final int JMP_JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
    /** {@code BPF_RET | BPF_K}: return k. */
    public static final int RET_K = BPF_RET | BPF_K;

    /** The size of one encoded instruction. */
    public static final int SIZE = 8;

    public BpfInstruction {
        if (code < 0 || code > 0xffff || jt < 0 || jt > 0xff || jf < 0 || jf > 0xff) {
            throw new IllegalArgumentException("BPF instruction out of range: " + code + "/" + jt + "/" + jf);
        }
    }

    public static BpfInstruction loadWord(int offset) {
        return new BpfInstruction(LD_W_ABS, 0, 0, offset);
    }

    public static BpfInstruction and(int mask) {
        return new BpfInstruction(ALU_AND_K, 0, 0, mask);
    }

    public static BpfInstruction jumpIfEqual(int k, int jt, int jf) {
        return new BpfInstruction(JMP_JEQ_K, jt, jf, k);
    }

    public static BpfInstruction ret(int k) {
        return new BpfInstruction(RET_K, 0, 0, k);
    }

    /** Writes the 8-byte {@code struct sock_filter} at the buffer's position. */
    public void encode(ByteBuffer out) {
        out.order(ByteOrder.LITTLE_ENDIAN);
        out.putShort((short) code).put((byte) jt).put((byte) jf).putInt(k);
    }

    @Override
    public String toString() {
        return switch (code) {
            case LD_W_ABS -> "ld [" + k + "]";
            case ALU_AND_K -> String.format("and #0x%x", k);
            case JMP_JEQ_K -> String.format("jeq #0x%x, +%d, +%d", k, jt, jf);
            case RET_K -> "ret " + new SeccompAction(k);
            default -> String.format("{0x%04x, %d, %d, 0x%08x}", code, jt, jf, k);
        };
    }
}
