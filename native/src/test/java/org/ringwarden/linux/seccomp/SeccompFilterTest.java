package org.ringwarden.linux.seccomp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SeccompFilterTest {
    private static final int IO_URING_SETUP = 425;
    private static final int GETPID = 39;

    @Test
    void deliveryFilterEncodesArchCheckX32MaskAndOneTrap() {
        SeccompFilter f = SeccompFilter.trappingIoUringSetup();
        assertThat(f.instructions()).as("program:%n%s", f).containsExactly(
                new BpfInstruction(0x20, 0, 0, 4),                   // ld [4] arch
                new BpfInstruction(0x15, 1, 0, 0xC000003E),          // jeq AUDIT_ARCH_X86_64, +1
                new BpfInstruction(0x06, 0, 0, 0x80000000),          // ret KILL_PROCESS
                new BpfInstruction(0x20, 0, 0, 0),                   // ld [0] nr
                new BpfInstruction(0x54, 0, 0, 0xBFFFFFFF),          // and ~__X32_SYSCALL_BIT
                new BpfInstruction(0x15, 0, 1, IO_URING_SETUP),      // jeq 425, +0, +1
                new BpfInstruction(0x06, 0, 0, 0x7fc00000),          // ret USER_NOTIF
                new BpfInstruction(0x06, 0, 0, 0x7fff0000));         // ret ALLOW
        // struct sock_filter, little-endian: u16 code, u8 jt, u8 jf, u32 k.
        assertThat(HexFormat.of().formatHex(f.bytes())).as("encoded program").isEqualTo(
                "2000000004000000" // code 0x0020 (2000), jt 00, jf 00, k 4
                        + "150001003e0000c0"
                        + "0600000000000080"
                        + "2000000000000000"
                        + "54000000ffffffbf"
                        + "15000001a9010000"
                        + "060000000000c07f"
                        + "060000000000ff7f");
    }

    @Test
    void programDecidesLikeItsRulesForEveryNumberAndArchitecture() {
        SeccompFilter f = SeccompFilter.builder()
                .notify(IO_URING_SETUP)
                .on(GETPID, SeccompAction.errno(1))
                .otherwise(SeccompAction.LOG)
                .build();
        for (int nr = 0; nr < 1024; nr++) {
            SeccompAction expected = nr == IO_URING_SETUP ? SeccompAction.USER_NOTIF
                    : nr == GETPID ? SeccompAction.errno(1) : SeccompAction.LOG;
            assertThat(run(f, SeccompFilter.AUDIT_ARCH_X86_64, nr)).as("x86_64 nr %d", nr).isEqualTo(expected.value());
            assertThat(run(f, SeccompFilter.AUDIT_ARCH_X86_64, nr | SeccompFilter.X32_SYSCALL_BIT))
                    .as("x32 nr %d gets the action of its x86_64 twin", nr).isEqualTo(expected.value());
            assertThat(run(f, SeccompFilter.AUDIT_ARCH_I386, nr)).as("i386 nr %d fails closed", nr)
                    .isEqualTo(SeccompAction.KILL_PROCESS.value());
            assertThat(run(f, 0x40000028 /* AUDIT_ARCH_ARM */, nr)).as("arm nr %d fails closed", nr)
                    .isEqualTo(SeccompAction.KILL_PROCESS.value());
            assertThat(f.actionFor(nr)).as("actionFor(%d)", nr).isEqualTo(expected);
        }
        assertThat(run(f, SeccompFilter.AUDIT_ARCH_X86_64, -1)).as("nr -1 (a ptracer's skip) gets the default")
                .isEqualTo(SeccompAction.LOG.value());
    }

    @Test
    void foreignArchitectureActionIsConfigurable() {
        SeccompFilter f = SeccompFilter.builder().notify(IO_URING_SETUP)
                .foreignArchitecture(SeccompAction.errno(38)).build();
        assertThat(run(f, SeccompFilter.AUDIT_ARCH_I386, IO_URING_SETUP)).as("i386 io_uring_setup")
                .isEqualTo(SeccompAction.errno(38).value());
    }

    @Test
    void builderRefusesX32NumbersNegativeNumbersAndDuplicates() {
        assertThatThrownBy(() -> SeccompFilter.builder().notify(IO_URING_SETUP | SeccompFilter.X32_SYSCALL_BIT))
                .as("an x32 number").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SeccompFilter.builder().notify(-1)).as("a negative number")
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SeccompFilter.builder().notify(IO_URING_SETUP).on(IO_URING_SETUP, SeccompAction.ALLOW))
                .as("a second rule for one number").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SeccompAction.errno(0)).as("errno 0").isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sockFprogPointsAtTheProgram() {
        SeccompFilter f = SeccompFilter.trappingIoUringSetup();
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var fprog = f.toSockFprog(arena);
            assertThat(fprog.byteSize()).as("sizeof(struct sock_fprog)").isEqualTo(16);
            assertThat(Short.toUnsignedInt(fprog.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 0))).as("len")
                    .isEqualTo(f.instructions().size());
            var prog = fprog.get(java.lang.foreign.ValueLayout.ADDRESS, 8).reinterpret(f.bytes().length);
            assertThat(prog.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).as("program bytes").isEqualTo(f.bytes());
        }
    }

    /**
     * Runs the encoded program over a {@code struct seccomp_data} the way the kernel's classic
     * BPF interpreter does, for the instructions the builder emits; any other opcode fails the
     * test, so the builder cannot silently emit something this check does not understand.
     */
    static int run(SeccompFilter f, int arch, int nr) {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch).putLong(8, 0x401000L);
        ByteBuffer prog = ByteBuffer.wrap(f.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        List<BpfInstruction> decoded = new java.util.ArrayList<>();
        while (prog.hasRemaining()) {
            decoded.add(new BpfInstruction(Short.toUnsignedInt(prog.getShort()), Byte.toUnsignedInt(prog.get()),
                    Byte.toUnsignedInt(prog.get()), prog.getInt()));
        }
        int a = 0;
        int pc = 0;
        for (int steps = 0; steps < 10_000; steps++) {
            if (pc >= decoded.size()) {
                throw new AssertionError("program ran off its end at " + pc);
            }
            BpfInstruction i = decoded.get(pc);
            switch (i.code()) {
                case BpfInstruction.LD_W_ABS -> {
                    a = data.getInt(i.k());
                    pc++;
                }
                case BpfInstruction.ALU_AND_K -> {
                    a &= i.k();
                    pc++;
                }
                case BpfInstruction.JMP_JEQ_K -> pc += 1 + (a == i.k() ? i.jt() : i.jf());
                case BpfInstruction.RET_K -> {
                    return i.k();
                }
                default -> throw new AssertionError("opcode the test interpreter does not know: " + i);
            }
        }
        throw new AssertionError("program did not return");
    }
}
