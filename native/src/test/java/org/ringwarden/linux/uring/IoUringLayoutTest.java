package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every size, offset and number of the io_uring ABI in this package against two references:
 * values written down here from the UAPI header, and what gcc says about the system's
 * {@code <linux/io_uring.h>} when it compiles a small program at test time. The system header
 * may be older than the kernel (Debian 12 ships 6.1's): names it does not define are checked
 * against the hard-coded values and the kernel's own probe only.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IoUringLayoutTest {
    /** C's answer per check key, e.g. {@code sizeof io_uring_sqe} or {@code IORING_OP_READ}; null if gcc is absent. */
    private static Map<String, Long> fromHeader;
    /** Keys the header does not define (too old a header). */
    private static final TreeSet<String> notInHeader = new TreeSet<>();

    private static final List<StructLayout> STRUCTS = List.of(IoUringLayout.PARAMS, IoUringLayout.SQRING_OFFSETS,
            IoUringLayout.CQRING_OFFSETS, IoUringLayout.SQE, IoUringLayout.CQE, IoUringLayout.RESTRICTION,
            IoUringLayout.PROBE, IoUringLayout.PROBE_OP, IoUringLayout.IOVEC, IoUringLayout.KERNEL_TIMESPEC);

    /** Java field names that C spells differently; alternatives are tried in order (newer header first). */
    private static final Map<String, List<String>> C_FIELD = Map.of(
            "io_uring_restriction.op", List.of("register_op"),
            "io_sqring_offsets.user_addr", List.of("user_addr", "resv2"),
            "io_cqring_offsets.user_addr", List.of("user_addr", "resv2"),
            "io_uring_params.sq_off.user_addr", List.of("sq_off.user_addr", "sq_off.resv2"),
            "io_uring_params.cq_off.user_addr", List.of("cq_off.user_addr", "cq_off.resv2"));

    // ------------------------------------------------------------------ hard-coded UAPI values

    @Test
    void layoutsHaveTheUapiSizesAndOffsets() {
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(IoUringLayout.PARAMS.byteSize()).as("sizeof io_uring_params").isEqualTo(120);
        soft.assertThat(IoUringLayout.PARAMS_SQ_OFF).as("offsetof sq_off").isEqualTo(40);
        soft.assertThat(IoUringLayout.PARAMS_CQ_OFF).as("offsetof cq_off").isEqualTo(80);
        soft.assertThat(IoUringLayout.PARAMS_FLAGS).as("offsetof params.flags").isEqualTo(8);
        soft.assertThat(IoUringLayout.PARAMS_FEATURES).as("offsetof params.features").isEqualTo(20);
        soft.assertThat(IoUringLayout.PARAMS_WQ_FD).as("offsetof params.wq_fd").isEqualTo(24);
        soft.assertThat(IoUringLayout.SQRING_OFFSETS.byteSize()).as("sizeof io_sqring_offsets").isEqualTo(40);
        soft.assertThat(IoUringLayout.CQRING_OFFSETS.byteSize()).as("sizeof io_cqring_offsets").isEqualTo(40);
        soft.assertThat(IoUringLayout.SQE_SIZE).as("sizeof io_uring_sqe").isEqualTo(64);
        long[][] sqe = {{IoUringLayout.SQE_OPCODE, 0}, {IoUringLayout.SQE_FLAGS, 1}, {IoUringLayout.SQE_IOPRIO, 2},
                {IoUringLayout.SQE_FD, 4}, {IoUringLayout.SQE_OFF, 8}, {IoUringLayout.SQE_ADDR, 16},
                {IoUringLayout.SQE_LEN, 24}, {IoUringLayout.SQE_RW_FLAGS, 28}, {IoUringLayout.SQE_USER_DATA, 32},
                {IoUringLayout.SQE_BUF_INDEX, 40}, {IoUringLayout.SQE_PERSONALITY, 42},
                {IoUringLayout.SQE_FILE_INDEX, 44}, {IoUringLayout.SQE_ADDR3, 48}};
        for (long[] f : sqe) {
            soft.assertThat(f[0]).as("SQE field expected at %d", f[1]).isEqualTo(f[1]);
        }
        soft.assertThat(IoUringLayout.CQE_SIZE).as("sizeof io_uring_cqe").isEqualTo(16);
        soft.assertThat(IoUringLayout.CQE_USER_DATA).as("cqe.user_data").isZero();
        soft.assertThat(IoUringLayout.CQE_RES).as("cqe.res").isEqualTo(8);
        soft.assertThat(IoUringLayout.CQE_FLAGS).as("cqe.flags").isEqualTo(12);
        soft.assertThat(IoUringLayout.RESTRICTION.byteSize()).as("sizeof io_uring_restriction").isEqualTo(16);
        soft.assertThat(IoUringLayout.off(IoUringLayout.RESTRICTION, "op")).as("restriction union").isEqualTo(2);
        soft.assertThat(IoUringLayout.PROBE.byteSize()).as("sizeof io_uring_probe").isEqualTo(16);
        soft.assertThat(IoUringLayout.PROBE_OP.byteSize()).as("sizeof io_uring_probe_op").isEqualTo(8);
        soft.assertThat(IoUringLayout.off(IoUringLayout.PROBE_OP, "flags")).as("probe_op.flags").isEqualTo(2);
        soft.assertThat(IoUringLayout.IOVEC.byteSize()).as("sizeof iovec").isEqualTo(16);
        soft.assertThat(IoUringLayout.KERNEL_TIMESPEC.byteSize()).as("sizeof __kernel_timespec").isEqualTo(16);
        String[] sqOff = {"head", "tail", "ring_mask", "ring_entries", "flags", "dropped", "array", "resv1", "user_addr"};
        String[] cqOff = {"head", "tail", "ring_mask", "ring_entries", "overflow", "cqes", "flags", "resv1", "user_addr"};
        for (int i = 0; i < sqOff.length; i++) {
            long expected = i < 8 ? 4L * i : 32;
            soft.assertThat(IoUringLayout.off(IoUringLayout.SQRING_OFFSETS, sqOff[i])).as("sq_off.%s", sqOff[i])
                    .isEqualTo(expected);
            soft.assertThat(IoUringLayout.off(IoUringLayout.CQRING_OFFSETS, cqOff[i])).as("cq_off.%s", cqOff[i])
                    .isEqualTo(expected);
        }
        soft.assertAll();
    }

    @Test
    void enumsCarryTheirOrdinalAsTheirNumber() {
        for (IoUringOp op : IoUringOp.values()) {
            assertThat(op.number()).as("IORING_OP_%s", op).isEqualTo(op.ordinal());
        }
        for (RegisterOp op : RegisterOp.values()) {
            assertThat(op.number()).as("IORING_%s", op).isEqualTo(op.ordinal());
        }
        for (RestrictionType t : RestrictionType.values()) {
            assertThat(t.abi()).as("IORING_RESTRICTION_%s", t).isEqualTo(t.ordinal());
        }
        for (KernelConstant[] flags : new KernelConstant[][] {SetupFlag.values(), Feature.values(), SqeFlag.values(),
                EnterFlag.values()}) {
            for (int i = 0; i < flags.length; i++) {
                assertThat(flags[i].abi()).as(flags[i].cName()).isEqualTo(1L << i);
            }
        }
    }

    /** A kernel with a new opcode changes last_op: then the enum (and the policies' vocabulary) need updating. */
    @Test
    void ioUringOpEndsExactlyAtTheKernelsLastOp() {
        KernelProbe probe = IoUringCalls.probeKernel();
        IoUringOp[] ops = IoUringOp.values();
        assertThat(ops[ops.length - 1].number()).as("the last IoUringOp against this kernel's probe last_op; "
                + "if the kernel knows more opcodes, add them to IoUringOp").isEqualTo(probe.lastOp());
        assertThat(probe.supports(IoUringOp.NOP)).as("NOP supported").isTrue();
        assertThat(probe.supports(IoUringOp.READ_FIXED)).as("READ_FIXED supported").isTrue();
    }

    // ------------------------------------------------------------------ against the C header

    @BeforeAll
    static void compileHeaderProbe() throws Exception {
        if (!commandWorks("gcc", "--version")) {
            fromHeader = null;
            return;
        }
        Map<String, List<String>> checks = new LinkedHashMap<>();
        for (StructLayout s : STRUCTS) {
            String ctype = "struct " + s.name().orElseThrow();
            checks.put("sizeof " + s.name().orElseThrow(), List.of("sizeof(" + ctype + ")"));
            for (String[] field : fields(s, "")) {
                String key = s.name().orElseThrow() + "." + field[0];
                List<String> cNames = C_FIELD.getOrDefault(key, List.of(field[1]));
                List<String> exprs = new ArrayList<>();
                for (String c : cNames) {
                    exprs.add("offsetof(" + ctype + ", " + c + ")");
                }
                checks.put("offsetof " + key, exprs);
            }
        }
        for (KernelConstant[] family : constantFamilies()) {
            for (KernelConstant c : family) {
                checks.put(c.cName(), List.of(c.cName()));
            }
        }
        checks.put("IORING_OFF_SQ_RING", List.of("IORING_OFF_SQ_RING"));
        checks.put("IORING_OFF_CQ_RING", List.of("IORING_OFF_CQ_RING"));
        checks.put("IORING_OFF_SQES", List.of("IORING_OFF_SQES"));
        checks.put("IORING_SQ_CQ_OVERFLOW", List.of("IORING_SQ_CQ_OVERFLOW"));
        checks.put("IORING_SQ_TASKRUN", List.of("IORING_SQ_TASKRUN"));
        checks.put("IORING_CQE_F_BUFFER", List.of("IORING_CQE_F_BUFFER"));
        checks.put("IORING_CQE_F_MORE", List.of("IORING_CQE_F_MORE"));
        checks.put("IORING_CQE_F_SOCK_NONEMPTY", List.of("IORING_CQE_F_SOCK_NONEMPTY"));
        checks.put("IORING_CQE_F_NOTIF", List.of("IORING_CQE_F_NOTIF"));
        checks.put("IORING_TIMEOUT_ABS", List.of("IORING_TIMEOUT_ABS"));
        checks.put("IORING_FSYNC_DATASYNC", List.of("IORING_FSYNC_DATASYNC"));
        checks.put("IORING_ASYNC_CANCEL_ALL", List.of("IORING_ASYNC_CANCEL_ALL"));
        checks.put("IO_URING_OP_SUPPORTED", List.of("IO_URING_OP_SUPPORTED"));
        fromHeader = runProbe(checks);
    }

    private static List<KernelConstant[]> constantFamilies() {
        return List.of(IoUringOp.values(), RegisterOp.values(), SetupFlag.values(), Feature.values(), SqeFlag.values(),
                EnterFlag.values(), RestrictionType.values());
    }

    /** Leaf fields of {@code layout} as [java path, C designator], nested structs flattened (sq_off.head). */
    private static List<String[]> fields(GroupLayout layout, String prefix) {
        List<String[]> out = new ArrayList<>();
        for (MemoryLayout m : layout.memberLayouts()) {
            String name = m.name().orElse(null);
            if (name == null) {
                continue;
            }
            out.add(new String[] {prefix + name, prefix + name});
            if (m instanceof GroupLayout g) {
                out.addAll(fields(g, prefix + name + "."));
            }
        }
        return out;
    }

    private static long javaOffset(StructLayout s, String path) {
        String[] parts = path.split("\\.");
        PathElement[] els = new PathElement[parts.length];
        for (int i = 0; i < parts.length; i++) {
            els[i] = PathElement.groupElement(parts[i]);
        }
        return s.byteOffset(els);
    }

    @Test
    void structLayoutsMatchTheSystemHeader() {
        assumeHeaderProbe();
        SoftAssertions soft = new SoftAssertions();
        int checked = 0;
        for (StructLayout s : STRUCTS) {
            String name = s.name().orElseThrow();
            soft.assertThat(fromHeader.get("sizeof " + name)).as("sizeof(struct %s) from gcc", name).isEqualTo(s.byteSize());
            for (String[] field : fields(s, "")) {
                String key = "offsetof " + name + "." + field[0];
                soft.assertThat(fromHeader.get(key)).as("%s from gcc (missing: the header lacks the field)", key)
                        .isEqualTo(javaOffset(s, field[0]));
                checked++;
            }
        }
        soft.assertAll();
        assertThat(checked).as("fields compared").isGreaterThan(60);
    }

    @Test
    void constantsMatchTheSystemHeaderWhereItDefinesThem() {
        assumeHeaderProbe();
        SoftAssertions soft = new SoftAssertions();
        int checked = 0;
        for (KernelConstant[] family : constantFamilies()) {
            for (KernelConstant c : family) {
                Long v = fromHeader.get(c.cName());
                if (v != null) {
                    soft.assertThat(c.abi()).as("%s against the header", c.cName()).isEqualTo(v);
                    checked++;
                }
            }
        }
        Object[][] others = {{"IORING_OFF_SQ_RING", IoUringCalls.OFF_SQ_RING}, {"IORING_OFF_CQ_RING", IoUringCalls.OFF_CQ_RING},
                {"IORING_OFF_SQES", IoUringCalls.OFF_SQES}, {"IORING_SQ_CQ_OVERFLOW", (long) Ring.SQ_CQ_OVERFLOW},
                {"IORING_SQ_TASKRUN", (long) Ring.SQ_TASKRUN}, {"IORING_CQE_F_BUFFER", (long) Cqe.F_BUFFER},
                {"IORING_CQE_F_MORE", (long) Cqe.F_MORE}, {"IORING_CQE_F_SOCK_NONEMPTY", (long) Cqe.F_SOCK_NONEMPTY},
                {"IORING_CQE_F_NOTIF", (long) Cqe.F_NOTIF}, {"IORING_TIMEOUT_ABS", (long) Sqe.TIMEOUT_ABS},
                {"IORING_FSYNC_DATASYNC", (long) Sqe.FSYNC_DATASYNC}, {"IORING_ASYNC_CANCEL_ALL", (long) Sqe.ASYNC_CANCEL_ALL},
                {"IO_URING_OP_SUPPORTED", (long) IoUringCalls.OP_SUPPORTED}};
        for (Object[] o : others) {
            Long v = fromHeader.get((String) o[0]);
            if (v != null) {
                soft.assertThat((Long) o[1]).as("%s against the header", o[0]).isEqualTo(v);
                checked++;
            }
        }
        soft.assertAll();
        // The oldest header we accept (6.1) defines opcodes through SENDMSG_ZC and register ops through
        // PBUF_RING: a check count below that means the probe program lost its constants.
        assertThat(checked).as("constants compared; not in this header: %s", notInHeader).isGreaterThan(120);
        assertThat(fromHeader).as("the 6.1 baseline").containsKeys("IORING_OP_SENDMSG_ZC",
                "IORING_UNREGISTER_PBUF_RING", "IORING_SETUP_DEFER_TASKRUN", "IORING_RESTRICTION_SQE_FLAGS_REQUIRED");
    }

    private static void assumeHeaderProbe() {
        Assumptions.assumeTrue(fromHeader != null,
                "gcc is not installed: the layouts were checked against the hard-coded UAPI values only");
    }

    // ------------------------------------------------------------------ the C probe program

    private static final Pattern ERROR_LINE = Pattern.compile("^[^:]*probe\\.c:(\\d+):\\d+: error:", Pattern.MULTILINE);

    /** Compiles and runs a program printing each check; lines gcc rejects move to their next alternative or are dropped. */
    private static Map<String, Long> runProbe(Map<String, List<String>> checks) throws Exception {
        Path dir = Path.of("target", "io-uring-header-probe").toAbsolutePath();
        Files.createDirectories(dir);
        Path source = dir.resolve("probe.c");
        Path binary = dir.resolve("probe");
        List<String> keys = new ArrayList<>(checks.keySet());
        int[] alternative = new int[keys.size()]; // -1: dropped
        for (int attempt = 0; attempt < 5; attempt++) {
            StringBuilder c = new StringBuilder("""
                    #include <stddef.h>
                    #include <stdio.h>
                    #include <sys/uio.h>
                    #include <linux/time_types.h>
                    #include <linux/io_uring.h>
                    int main(void) {
                    """);
            int headerLines = 6;
            for (int i = 0; i < keys.size(); i++) {
                if (alternative[i] < 0) {
                    c.append("\n");
                    continue;
                }
                String expr = checks.get(keys.get(i)).get(alternative[i]);
                c.append("printf(\"%s=%lld\\n\", \"").append(keys.get(i)).append("\", (long long) (").append(expr)
                        .append("));\n");
            }
            c.append("return 0;\n}\n");
            Files.writeString(source, c, StandardCharsets.UTF_8);
            Process gcc = new ProcessBuilder("gcc", "-std=gnu11", "-w", "-o", binary.toString(), source.toString())
                    .redirectErrorStream(true).start();
            String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(gcc.waitFor(60, TimeUnit.SECONDS)).as("gcc finished").isTrue();
            if (gcc.exitValue() == 0) {
                Process run = new ProcessBuilder(binary.toString()).redirectErrorStream(true).start();
                String printed = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(run.waitFor(30, TimeUnit.SECONDS)).as("probe finished").isTrue();
                assertThat(run.exitValue()).as("probe exit status: %s", printed).isZero();
                Map<String, Long> values = new LinkedHashMap<>();
                for (String line : printed.split("\n")) {
                    int eq = line.lastIndexOf('=');
                    if (eq > 0) {
                        values.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
                    }
                }
                return values;
            }
            Matcher m = ERROR_LINE.matcher(out);
            boolean any = false;
            TreeSet<Integer> bad = new TreeSet<>();
            while (m.find()) {
                bad.add(Integer.parseInt(m.group(1)) - headerLines - 1);
            }
            for (int i : bad) {
                if (i < 0 || i >= keys.size()) {
                    throw new AssertionError("gcc failed outside the checks:\n" + out);
                }
                any = true;
                alternative[i]++;
                if (alternative[i] >= checks.get(keys.get(i)).size()) {
                    alternative[i] = -1;
                    notInHeader.add(keys.get(i));
                }
            }
            if (!any) {
                throw new AssertionError("gcc failed and named no check line:\n" + out);
            }
        }
        throw new AssertionError("the header probe did not compile after 5 attempts; dropped: " + notInHeader);
    }

    private static boolean commandWorks(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
