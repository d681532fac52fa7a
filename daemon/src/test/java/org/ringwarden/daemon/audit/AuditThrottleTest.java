package org.ringwarden.daemon.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.protocol.ErrorCode;

@Timeout(10)
class AuditThrottleTest {
    private static final long SECOND = AuditThrottle.WINDOW_NANOS;
    private final AtomicLong now = new AtomicLong(1_000 * SECOND);

    private static AuditRecord refused(int pid, String event, ErrorCode code, int n) {
        return new AuditRecord(Instant.EPOCH.plusMillis(n), event, pid, 1000, 1000, "/bin/x", null, null, "refused", code,
                "refusal " + n);
    }

    private static long more(List<AuditRecord> records) {
        return records.stream().mapToLong(AuditRecord::more).sum();
    }

    @Test
    void aFloodFromOneProcessIsAFewRecordsThenOneSummaryWithTheCount() {
        AuditThrottle t = new AuditThrottle(now::get);
        List<AuditRecord> out = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            out.addAll(t.admit(refused(42, "deliver-refused", ErrorCode.NOT_PERMITTED, i)));
        }
        assertThat(out).as("the first of the window pass, in order").hasSize(AuditThrottle.PER_WINDOW)
                .extracting(AuditRecord::detail).containsExactly("refusal 0", "refusal 1", "refusal 2", "refusal 3",
                        "refusal 4");
        assertThat(t.due()).as("nothing is due within the second").isEmpty();
        now.addAndGet(SECOND - 1);
        assertThat(t.due()).as("nor a nanosecond before it ends").isEmpty();
        now.addAndGet(1);
        List<AuditRecord> due = t.due();
        assertThat(due).as("one summary once the window has ended").hasSize(1);
        AuditRecord s = due.get(0);
        assertThat(s.more()).as("how many were left out").isEqualTo(10_000 - AuditThrottle.PER_WINDOW);
        assertThat(s.detail()).as("for people").isEqualTo("9995 more like this in the last second; the last: refusal 9999");
        assertThat(List.of(s.pid(), s.event(), s.code(), s.outcome(), s.time()))
                .as("the fields of the last one left out").containsExactly(42, "deliver-refused", ErrorCode.NOT_PERMITTED,
                        "refused", Instant.EPOCH.plusMillis(9_999));
        assertThat(t.due()).as("written once").isEmpty();
        assertThat(t.admit(refused(42, "deliver-refused", ErrorCode.NOT_PERMITTED, 10_000))).as("a new window")
                .hasSize(1);
    }

    @Test
    void aWindowThatEndedIsSummarisedBeforeTheNextRecordOfAnyKey() {
        AuditThrottle t = new AuditThrottle(now::get, 2, 100);
        for (int i = 0; i < 5; i++) {
            t.admit(refused(7, "release", ErrorCode.BAD_REQUEST, i));
        }
        now.addAndGet(SECOND);
        List<AuditRecord> out = t.admit(refused(8, "attach", ErrorCode.NOT_PERMITTED, 5));
        assertThat(out).extracting(AuditRecord::pid, AuditRecord::more).as("pid 7's summary, then pid 8's record")
                .containsExactly(org.assertj.core.groups.Tuple.tuple(7, 3L), org.assertj.core.groups.Tuple.tuple(8, 0L));
    }

    @Test
    void pidEventAndCodeAreLimitedApart() {
        AuditThrottle t = new AuditThrottle(now::get, 1, 100);
        assertThat(t.admit(refused(1, "release", ErrorCode.BAD_REQUEST, 0))).as("first").hasSize(1);
        assertThat(t.admit(refused(1, "release", ErrorCode.BAD_REQUEST, 1))).as("same key").isEmpty();
        assertThat(t.admit(refused(2, "release", ErrorCode.BAD_REQUEST, 2))).as("another pid").hasSize(1);
        assertThat(t.admit(refused(1, "attach", ErrorCode.BAD_REQUEST, 3))).as("another event").hasSize(1);
        assertThat(t.admit(refused(1, "release", ErrorCode.NOT_PERMITTED, 4))).as("another code").hasSize(1);
        assertThat(t.drain()).as("drain summarises open windows").extracting(AuditRecord::pid, AuditRecord::more)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1, 1L));
        assertThat(t.admit(refused(1, "release", ErrorCode.BAD_REQUEST, 5))).as("drain closed the windows").hasSize(1);
    }

    @Test
    void manyPidsShareOneWindowOnceTheKeysAreFullAndNothingIsLostFromTheCount() {
        int keys = 16;
        AuditThrottle t = new AuditThrottle(now::get, 2, keys);
        List<AuditRecord> out = new ArrayList<>();
        int n = 0;
        for (int round = 0; round < 3; round++) {
            for (int pid = 1; pid <= 1_000; pid++) { // a hostile user cycling through pids
                for (int k = 0; k < 3; k++) {
                    out.addAll(t.admit(refused(pid, "deliver-refused", ErrorCode.NOT_PERMITTED, n++)));
                }
            }
            now.addAndGet(SECOND);
        }
        out.addAll(t.drain());
        long written = out.stream().filter(r -> r.more() == 0).count();
        assertThat(written + more(out)).as("every refusal written or counted").isEqualTo(n);
        // per window: 2 per key for 16 keys, 2 for the shared window; then one summary per key that left some out
        assertThat(out).as("bounded by the keys, not by the pids").hasSizeLessThanOrEqualTo(3 * (2 * (keys + 1) + keys + 1));
        assertThat(out).filteredOn(r -> r.more() > 0 && r.detail().startsWith(r.more() + " more refusals by other"))
                .as("the shared window's summaries").hasSize(3);
    }

    @Test
    void aSummaryCountsAsTheRecordsItStandsFor() {
        AuditThrottle t = new AuditThrottle(now::get, 1, 100);
        AuditRecord r = refused(3, "acquire", ErrorCode.INTERNAL, 0);
        t.admit(r);
        AuditRecord summary = new AuditRecord(r.time(), r.event(), r.pid(), r.uid(), r.gid(), r.exe(), null, null,
                "refused", ErrorCode.INTERNAL, "40 more like this", 40);
        assertThat(t.admit(summary)).as("over the limit").isEmpty();
        assertThat(t.drain()).extracting(AuditRecord::more).as("40, not 1").containsExactly(40L);
    }
}
