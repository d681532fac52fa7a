package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every {@link Sqe} preparation produces the same 64 bytes as liburing's {@code io_uring_prep_*}
 * with the same arguments (liburing's inline helpers compiled by gcc at test time). The Java
 * side starts from a slot full of garbage, so a field a prep method forgets to write shows up;
 * the C side starts from zeros, since liburing's prep leaves {@code user_data} alone where
 * {@link Sqe} zeroes it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SqePrepTest {
    private record Case(String c, BiConsumer<MemorySegment, Long> java) {
    }

    private static Map<String, Case> cases() {
        Map<String, Case> m = new LinkedHashMap<>();
        m.put("nop", new Case("io_uring_prep_nop(s)", (g, o) -> Sqe.prepNop(g, o)));
        m.put("read", new Case("io_uring_prep_read(s, 5, (void *) 0x1000UL, 4096, 123)",
                (g, o) -> Sqe.prepRead(g, o, 5, 0x1000, 4096, 123)));
        m.put("read_pos", new Case("io_uring_prep_read(s, 5, (void *) 0x1000UL, 4096, -1)",
                (g, o) -> Sqe.prepRead(g, o, 5, 0x1000, 4096, -1)));
        m.put("write", new Case("io_uring_prep_write(s, 5, (void *) 0x1000UL, 4096, 1L << 40)",
                (g, o) -> Sqe.prepWrite(g, o, 5, 0x1000, 4096, 1L << 40)));
        m.put("read_fixed", new Case("io_uring_prep_read_fixed(s, 5, (void *) 0x2000UL, 100, 7, 3)",
                (g, o) -> Sqe.prepReadFixed(g, o, 5, 0x2000, 100, 7, 3)));
        m.put("write_fixed", new Case("io_uring_prep_write_fixed(s, 5, (void *) 0x2000UL, 100, 7, 65535)",
                (g, o) -> Sqe.prepWriteFixed(g, o, 5, 0x2000, 100, 7, 65535)));
        m.put("readv", new Case("io_uring_prep_readv(s, 5, (const struct iovec *) 0x3000UL, 2, 9)",
                (g, o) -> Sqe.prepReadv(g, o, 5, 0x3000, 2, 9)));
        m.put("writev", new Case("io_uring_prep_writev(s, 5, (const struct iovec *) 0x3000UL, 2, 9)",
                (g, o) -> Sqe.prepWritev(g, o, 5, 0x3000, 2, 9)));
        m.put("fsync", new Case("io_uring_prep_fsync(s, 5, IORING_FSYNC_DATASYNC)",
                (g, o) -> Sqe.prepFsync(g, o, 5, Sqe.FSYNC_DATASYNC)));
        m.put("send", new Case("io_uring_prep_send(s, 6, (void *) 0x4000UL, 77, 0x40)",
                (g, o) -> Sqe.prepSend(g, o, 6, 0x4000, 77, 0x40)));
        m.put("recv", new Case("io_uring_prep_recv(s, 6, (void *) 0x4000UL, 77, 0x100)",
                (g, o) -> Sqe.prepRecv(g, o, 6, 0x4000, 77, 0x100)));
        m.put("sendmsg", new Case("io_uring_prep_sendmsg(s, 6, (const struct msghdr *) 0x5000UL, 0x4000)",
                (g, o) -> Sqe.prepSendmsg(g, o, 6, 0x5000, 0x4000)));
        m.put("recvmsg", new Case("io_uring_prep_recvmsg(s, 6, (struct msghdr *) 0x5000UL, 0x40)",
                (g, o) -> Sqe.prepRecvmsg(g, o, 6, 0x5000, 0x40)));
        m.put("accept", new Case("io_uring_prep_accept(s, 7, (struct sockaddr *) 0x6000UL, (socklen_t *) 0x6100UL, 0x80000)",
                (g, o) -> Sqe.prepAccept(g, o, 7, 0x6000, 0x6100, 0x80000)));
        m.put("connect", new Case("io_uring_prep_connect(s, 7, (const struct sockaddr *) 0x6000UL, 16)",
                (g, o) -> Sqe.prepConnect(g, o, 7, 0x6000, 16)));
        m.put("poll_add", new Case("io_uring_prep_poll_add(s, 8, 0x5)",
                (g, o) -> Sqe.prepPollAdd(g, o, 8, 0x5)));
        m.put("timeout", new Case("io_uring_prep_timeout(s, (struct __kernel_timespec *) 0x7000UL, 3, IORING_TIMEOUT_ABS)",
                (g, o) -> Sqe.prepTimeout(g, o, 0x7000, 3, Sqe.TIMEOUT_ABS)));
        m.put("link_timeout", new Case("io_uring_prep_link_timeout(s, (struct __kernel_timespec *) 0x7000UL, 0)",
                (g, o) -> Sqe.prepLinkTimeout(g, o, 0x7000, 0)));
        m.put("cancel64", new Case("io_uring_prep_cancel64(s, 0x1234567890ULL, IORING_ASYNC_CANCEL_ALL)",
                (g, o) -> Sqe.prepAsyncCancel(g, o, 0x1234567890L, Sqe.ASYNC_CANCEL_ALL)));
        m.put("close", new Case("io_uring_prep_close(s, 9)", (g, o) -> Sqe.prepClose(g, o, 9)));
        m.put("close_direct", new Case("io_uring_prep_close_direct(s, 4)", (g, o) -> Sqe.prepCloseFixed(g, o, 4)));
        m.put("flags_and_data", new Case(
                "io_uring_prep_read(s, 2, (void *) 0x1000UL, 8, 0); io_uring_sqe_set_flags(s, IOSQE_FIXED_FILE | IOSQE_IO_LINK);"
                        + " io_uring_sqe_set_data64(s, 0xfedcba9876543210ULL)",
                (g, o) -> {
                    Sqe.prepRead(g, o, 2, 0x1000, 8, 0);
                    Sqe.setFlags(g, o, SqeFlag.FIXED_FILE, SqeFlag.IO_LINK);
                    Sqe.setUserData(g, o, 0xfedcba9876543210L);
                }));
        m.put("fixed_file", new Case(
                "io_uring_prep_nop(s); io_uring_sqe_set_flags(s, IOSQE_ASYNC); s->flags |= IOSQE_FIXED_FILE",
                (g, o) -> {
                    Sqe.prepNop(g, o);
                    Sqe.setFlags(g, o, (int) SqeFlag.ASYNC.abi());
                    Sqe.setFixedFile(g, o);
                }));
        return m;
    }

    @Test
    void everyPreparationWritesWhatLiburingWrites() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/include/liburing.h")) && commandWorks("gcc", "--version"),
                "needs gcc and liburing's header (Debian: apt-get install liburing-dev) to compare with liburing");
        Map<String, Case> cases = cases();
        StringBuilder c = new StringBuilder("""
                #include <stdio.h>
                #include <string.h>
                #include <liburing.h>
                static void dump(const char *name, struct io_uring_sqe *s) {
                    const unsigned char *b = (const unsigned char *) s;
                    printf("%s=", name);
                    for (int i = 0; i < 64; i++) printf("%02x", b[i]);
                    printf("\\n");
                }
                int main(void) {
                    struct io_uring_sqe sqe, *s = &sqe;
                """);
        for (Map.Entry<String, Case> e : cases.entrySet()) {
            c.append("    memset(s, 0, sizeof *s); ").append(e.getValue().c()).append("; dump(\"")
                    .append(e.getKey()).append("\", s);\n");
        }
        c.append("    return 0;\n}\n");
        Path dir = Path.of("target", "sqe-prep-probe").toAbsolutePath();
        Files.createDirectories(dir);
        Path source = dir.resolve("prep.c");
        Path binary = dir.resolve("prep");
        Files.writeString(source, c);
        String gccOut = run("gcc", "-std=gnu11", "-Wall", "-o", binary.toString(), source.toString());
        assertThat(Files.exists(binary)).as("gcc compiled the liburing probe: %s", gccOut).isTrue();
        Map<String, String> fromC = new LinkedHashMap<>();
        for (String line : run(binary.toString()).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                fromC.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        assertThat(fromC.keySet()).as("cases the C probe printed").containsExactlyElementsOf(cases.keySet());

        SoftAssertions soft = new SoftAssertions();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sqes = arena.allocate(128, 64);
            for (Map.Entry<String, Case> e : cases.entrySet()) {
                sqes.fill((byte) 0x5a);
                e.getValue().java().accept(sqes, 64L); // the second slot: offsets must be honoured
                String java = HexFormat.of().formatHex(sqes.asSlice(64, 64).toArray(ValueLayout.JAVA_BYTE));
                soft.assertThat(java).as("SQE bytes of %s (Java vs liburing)", e.getKey()).isEqualTo(fromC.get(e.getKey()));
                soft.assertThat(sqes.get(ValueLayout.JAVA_BYTE, 63)).as("%s must not write before its slot", e.getKey())
                        .isEqualTo((byte) 0x5a);
            }
        }
        soft.assertAll();
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command[0]).isTrue();
        return out;
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
