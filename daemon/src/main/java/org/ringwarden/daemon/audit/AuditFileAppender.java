package org.ringwarden.daemon.audit;

import static java.util.Objects.requireNonNull;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Set;

import org.ringwarden.daemon.config.AuditSettings;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Context;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.LengthCounter;
import ch.qos.logback.core.rolling.LengthCounterBase;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.TriggeringPolicyBase;

import org.jspecify.annotations.Nullable;

/**
 * The audit file: Logback's {@link RollingFileAppender} with its {@link FixedWindowRollingPolicy}
 * ({@code audit.jsonl} becomes {@code audit.jsonl.1}, {@code .1} becomes {@code .2}, ... and the
 * oldest beyond {@code keepFiles} is deleted), rotated once the live file holds
 * {@code maxFileBytes} ({@link SizeCap}).
 *
 * <p>Every file is created with the audit mode ({@code 0600}, or {@code 0640} and the configured
 * group) whatever the umask: created owner-only (the umask can only take bits away), then given
 * its group, then its exact mode. An existing file (appended to, or rotated before) is given the
 * same mode and group: a trail once created {@code 0644} by a daemon outside its unit is closed
 * again at the next start. Rotation renames, so rotated files keep the live file's mode.
 */
final class AuditFileAppender extends RollingFileAppender<ILoggingEvent> {
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private final Set<PosixFilePermission> mode;
    /** The files' group; null for the daemon's own. */
    private final @Nullable GroupPrincipal group;

    private AuditFileAppender(Set<PosixFilePermission> mode, @Nullable GroupPrincipal group) {
        this.mode = mode;
        this.group = group;
    }

    /**
     * The (not started) appender for {@code settings}' file, its rolling and triggering policies
     * started; the live file and the rotated files already there are given the audit mode now,
     * so that a bad group or an unwritable file is reported here, with its reason.
     */
    static AuditFileAppender of(AuditSettings settings, Context context) throws IOException {
        Path file = requireNonNull(settings.file(), "a file destination has a file (AuditSettings)");
        @Nullable GroupPrincipal group = null;
        if (settings.group() != null) {
            try {
                group = file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(settings.group());
            } catch (UserPrincipalNotFoundException e) {
                throw new IOException("audit.group \"" + settings.group() + "\" is not a group of this system", e);
            }
        }
        AuditFileAppender a = new AuditFileAppender(settings.filePermissions(), group);
        a.create(file);
        for (int i = 1; i <= settings.keepFiles(); i++) {
            Path rotated = Path.of(file + "." + i);
            if (Files.exists(rotated, NOFOLLOW_LINKS)) {
                a.restrict(rotated);
            }
        }
        a.setContext(context);
        a.setFile(file.toString());
        a.setAppend(true);
        FixedWindowRollingPolicy window = new FixedWindowRollingPolicy();
        window.setContext(context);
        window.setParent(a);
        window.setFileNamePattern(file + ".%i");
        window.setMinIndex(1);
        window.setMaxIndex(settings.keepFiles());
        window.start();
        SizeCap cap = new SizeCap(settings.maxFileBytes());
        cap.setContext(context);
        cap.start();
        a.setRollingPolicy(window);
        a.setTriggeringPolicy(cap);
        return a;
    }

    /** Logback opens the live file here: at start, and after each rotation. */
    @Override
    public void openFile(String fileName) throws IOException {
        create(Path.of(fileName));
        super.openFile(fileName);
    }

    /** Creates {@code file} owner-only if it is not there, then gives it the audit group and mode. */
    private void create(Path file) throws IOException {
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (FileAlreadyExistsException e) {
            // appended to: given the mode below, like a new file
        }
        restrict(file);
    }

    /** The group first, then the mode: the file is never readable by a group it does not belong to. */
    private void restrict(Path file) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class, NOFOLLOW_LINKS);
        if (group != null) {
            view.setGroup(group);
        }
        view.setPermissions(mode); // chmod: the umask does not apply
    }

    /**
     * Rotation once the live file holds {@code max} bytes, counted as the appender writes them
     * (Logback's {@link LengthCounter}, which it starts from the file's length). Not Logback's
     * {@code SizeBasedTriggeringPolicy}: that one looks at the file's length at most every 60 ms
     * of wall-clock time and sees only what has been flushed (the audit writer flushes once per
     * batch), so a burst could run far past the cap. The record that reaches the cap ends the
     * file; the next one starts a new file.
     */
    static final class SizeCap extends TriggeringPolicyBase<ILoggingEvent> {
        private final long max;
        private final LengthCounter written = new LengthCounterBase();

        SizeCap(long max) {
            this.max = max;
        }

        @Override
        public LengthCounter getLengthCounter() {
            return written;
        }

        @Override
        public boolean isTriggeringEvent(File activeFile, ILoggingEvent event) {
            if (written.getLength() < max) {
                return false;
            }
            written.reset();
            return true;
        }
    }
}
