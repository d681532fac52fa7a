package org.ringwarden.daemon.grant;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.ringwarden.linux.ProcessInfo;

import org.jspecify.annotations.Nullable;

/**
 * The program behind a trapped {@code io_uring_setup} of a transparent attachment, as the audit
 * log and {@code ringwarden leases} name it: not the supervisor's connection (a JVM,
 * for {@code ringwarden run}) but the process that made the call.
 *
 * <p>The supervisor names the caller (its tid, and the executable it read); the daemon believes
 * the tid only if it is in the supervisor's own process tree ({@link ProcessTree}, with the
 * attachment's pidfd: {@code ringwarden run} is the parent and subreaper of everything it
 * serves), and reads the thread group, uid and gid itself from {@code /proc}. The executable is
 * read by the daemon where it may ({@code /proc/PID/exe} needs ptrace access: root, or the
 * same uid); otherwise it is the supervisor's report, which says no more than the program's own
 * side would.
 *
 * @param pid the caller's process (thread group) id
 * @param uid its real uid
 * @param gid its real gid
 * @param exe its executable
 */
record TrappedProgram(int pid, int uid, int gid, String exe) {
    /** The caller of {@code tid} under attachment {@code a}; null if {@code tid} is not in its peer's tree. */
    static @Nullable TrappedProgram of(Attachment a, int tid, @Nullable String reportedExe) {
        if (!ProcessTree.contains(a.peer().pid(), a.pidfd(), tid)) {
            return null;
        }
        String status;
        try {
            status = new String(Files.readAllBytes(Path.of("/proc", Integer.toString(tid), "status")),
                    StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null; // gone already
        }
        int pid = first(status, "Tgid:");
        int uid = first(status, "Uid:");
        int gid = first(status, "Gid:");
        if (pid <= 0 || uid < 0 || gid < 0) {
            return null;
        }
        String exe;
        try {
            exe = ProcessInfo.exe(pid).toString();
        } catch (RuntimeException e) {
            exe = reportedExe == null ? "?" : printable(reportedExe);
        }
        return new TrappedProgram(pid, uid, gid, exe);
    }

    /** The program as the peer of its audit records; {@code via} is the supervisor's connection. */
    Peer asPeer(Peer via) {
        return new Peer(via.connectionId(), pid, uid, gid, new int[0], -1, exe);
    }

    /** The first number after {@code key} on its line of {@code /proc/PID/status}; -1 if absent. */
    private static int first(String status, String key) {
        int at = status.indexOf("\n" + key);
        if (at < 0) {
            return -1;
        }
        int i = at + 1 + key.length();
        while (i < status.length() && (status.charAt(i) == ' ' || status.charAt(i) == '\t')) {
            i++;
        }
        int end = i;
        while (end < status.length() && Character.isDigit(status.charAt(end))) {
            end++;
        }
        try {
            return Integer.parseInt(status.substring(i, end));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String printable(String s) {
        String t = s.length() > 256 ? s.substring(0, 256) + "…" : s;
        return t.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }
}
