package org.ringwarden.linux.seccomp;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ringwarden.linux.Syscall;

/**
 * A seccomp filter program (classic BPF over {@code struct seccomp_data}) that gives chosen
 * x86_64 system calls an action and every other call a default, built by {@link Builder}:
 *
 * <pre>{@code
 * SeccompFilter f = SeccompFilter.builder()
 *         .on(Syscall.SYS_IO_URING_SETUP, SeccompAction.USER_NOTIF)
 *         .build();               // everything else ALLOW, foreign architectures KILL_PROCESS
 * }</pre>
 *
 * <p>The program it emits, with one two-instruction pair per rule:
 * <pre>
 *   0: ld  [4]                          ; seccomp_data.arch
 *   1: jeq #0xc000003e, +1, +0          ; AUDIT_ARCH_X86_64?
 *   2: ret foreignArchitecture          ; no: an i386 (int 0x80) call, see below
 *   3: ld  [0]                          ; seccomp_data.nr
 *   4: and #0xbfffffff                  ; drop __X32_SYSCALL_BIT
 *   5: jeq #nr1, +0, +1
 *   6: ret action1
 *      ...
 *   n: ret otherwise
 * </pre>
 *
 * <p><b>Architectures.</b> An x86_64 process can enter the kernel three ways, and a filter
 * that checks only the number is bypassed by two of them:
 * <ul>
 * <li>i386 ({@code int 0x80}): {@code arch} is {@code AUDIT_ARCH_I386} and the numbers are
 *     i386's, a different table (there, too, 425 is {@code io_uring_setup}; 20 is
 *     {@code getpid}). The builder's rules name x86_64 numbers, so it cannot translate them;
 *     it fails closed: {@link SeccompAction#KILL_PROCESS} by default. The cost: a 32-bit
 *     program exec'd under the filter dies with SIGSYS at its first system call.
 * <li>x32: {@code arch} is {@code AUDIT_ARCH_X86_64} and the number carries
 *     {@code __X32_SYSCALL_BIT} (0x40000000); the x32 table shares the x86_64 numbers
 *     ({@code io_uring_setup} is 0x400001a9). The filter masks the bit off before comparing,
 *     so an x32 call gets the same action as the x86_64 call of the same number. A notified
 *     supervisor sees the unmasked number ({@link SeccompNotification#isX32()}) and decides.
 *     The seccomp check runs before the kernel looks at the number, so this holds whether
 *     or not the kernel was built with x32 support.
 * <li>x86_64 proper: the rules as written.
 * </ul>
 */
public final class SeccompFilter {
    /** {@code AUDIT_ARCH_X86_64} ({@code EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE}). */
    public static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    /** {@code AUDIT_ARCH_I386}. */
    public static final int AUDIT_ARCH_I386 = 0x40000003;
    /** {@code __X32_SYSCALL_BIT}. */
    public static final int X32_SYSCALL_BIT = 0x4000_0000;
    /** {@code BPF_MAXINSNS}: the kernel refuses longer programs. */
    public static final int MAX_INSTRUCTIONS = 4096;

    /** Offsets in {@code struct seccomp_data}. */
    public static final int DATA_NR = 0;
    public static final int DATA_ARCH = 4;

    private final List<BpfInstruction> instructions;
    private final Map<Integer, SeccompAction> rules;
    private final SeccompAction otherwise;
    private final SeccompAction foreignArchitecture;

    private SeccompFilter(List<BpfInstruction> instructions, Map<Integer, SeccompAction> rules,
                          SeccompAction otherwise, SeccompAction foreignArchitecture) {
        this.instructions = List.copyOf(instructions);
        this.rules = Map.copyOf(rules);
        this.otherwise = otherwise;
        this.foreignArchitecture = foreignArchitecture;
    }

    /** A builder with default ALLOW and foreign architectures KILL_PROCESS. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The delivery filter of protocol.md: {@code io_uring_setup} (x86_64 and x32) goes to the
     * listener, every other x86_64 call is allowed, i386 calls kill the process.
     */
    public static SeccompFilter trappingIoUringSetup() {
        return builder().on((int) Syscall.SYS_IO_URING_SETUP, SeccompAction.USER_NOTIF).build();
    }

    /** The program, instruction by instruction. */
    public List<BpfInstruction> instructions() {
        return instructions;
    }

    /** The program as the kernel reads it: {@code 8 * instructions().size()} bytes of {@code struct sock_filter}. */
    public byte[] bytes() {
        ByteBuffer b = ByteBuffer.allocate(instructions.size() * BpfInstruction.SIZE);
        for (BpfInstruction i : instructions) {
            i.encode(b);
        }
        return b.array();
    }

    /** The action for x86_64 (or x32) system call {@code nr} (without the x32 bit). */
    public SeccompAction actionFor(int nr) {
        return rules.getOrDefault(nr & ~X32_SYSCALL_BIT, otherwise);
    }

    /** The action for calls of every other architecture. */
    public SeccompAction foreignArchitecture() {
        return foreignArchitecture;
    }

    /**
     * Writes {@code struct sock_fprog { unsigned short len; struct sock_filter *filter; }}
     * (16 bytes: len, 6 bytes of padding, pointer) and the program it points to, both from
     * {@code allocator}; returns the {@code sock_fprog}.
     */
    public MemorySegment toSockFprog(SegmentAllocator allocator) {
        byte[] code = bytes();
        MemorySegment program = allocator.allocate(code.length, 8);
        MemorySegment.copy(code, 0, program, ValueLayout.JAVA_BYTE, 0, code.length);
        MemorySegment fprog = allocator.allocate(16, 8);
        fprog.fill((byte) 0);
        fprog.set(ValueLayout.JAVA_SHORT, 0, (short) instructions.size());
        fprog.set(ValueLayout.ADDRESS, 8, program);
        return fprog;
    }

    /** The disassembly, one instruction a line. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < instructions.size(); i++) {
            b.append(String.format("%3d: %s%n", i, instructions.get(i)));
        }
        return b.toString();
    }

    /** Collects rules; {@link #build()} emits the program. */
    public static final class Builder {
        private final Map<Integer, SeccompAction> rules = new LinkedHashMap<>();
        private SeccompAction otherwise = SeccompAction.ALLOW;
        private SeccompAction foreignArchitecture = SeccompAction.KILL_PROCESS;

        private Builder() {
        }

        /**
         * Gives x86_64 system call {@code nr} (and its x32 twin) {@code action}.
         *
         * @throws IllegalArgumentException if {@code nr} is negative, carries the x32 bit, or already has a rule
         */
        public Builder on(int nr, SeccompAction action) {
            requireNonNull(action, "action");
            if (nr < 0 || (nr & X32_SYSCALL_BIT) != 0) {
                throw new IllegalArgumentException("not an x86_64 system call number: " + nr);
            }
            if (rules.putIfAbsent(nr, action) != null) {
                throw new IllegalArgumentException("system call " + nr + " already has a rule");
            }
            return this;
        }

        /** {@link #on} with {@link SeccompAction#USER_NOTIF} for each number. */
        public Builder notify(int... nrs) {
            for (int nr : nrs) {
                on(nr, SeccompAction.USER_NOTIF);
            }
            return this;
        }

        /** The action for every x86_64 call without a rule (default ALLOW). */
        public Builder otherwise(SeccompAction action) {
            this.otherwise = requireNonNull(action, "action");
            return this;
        }

        /** The action for calls of another architecture (default KILL_PROCESS; see the class comment). */
        public Builder foreignArchitecture(SeccompAction action) {
            this.foreignArchitecture = requireNonNull(action, "action");
            return this;
        }

        public SeccompFilter build() {
            List<BpfInstruction> p = new ArrayList<>(6 + 2 * rules.size());
            p.add(BpfInstruction.loadWord(DATA_ARCH));
            p.add(BpfInstruction.jumpIfEqual(AUDIT_ARCH_X86_64, 1, 0));
            p.add(BpfInstruction.ret(foreignArchitecture.value()));
            p.add(BpfInstruction.loadWord(DATA_NR));
            p.add(BpfInstruction.and(~X32_SYSCALL_BIT));
            for (Map.Entry<Integer, SeccompAction> r : rules.entrySet()) {
                p.add(BpfInstruction.jumpIfEqual(r.getKey(), 0, 1));
                p.add(BpfInstruction.ret(r.getValue().value()));
            }
            p.add(BpfInstruction.ret(otherwise.value()));
            if (p.size() > MAX_INSTRUCTIONS) {
                throw new IllegalArgumentException("filter too long: " + p.size() + " instructions (max " + MAX_INSTRUCTIONS + ")");
            }
            return new SeccompFilter(p, rules, otherwise, foreignArchitecture);
        }
    }
}
