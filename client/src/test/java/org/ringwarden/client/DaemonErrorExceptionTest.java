package org.ringwarden.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.protocol.ErrorCode;

@Timeout(10)
class DaemonErrorExceptionTest {
    private static final Map<ErrorCode, Class<? extends DaemonErrorException>> EXPECTED = Map.of(
            ErrorCode.BAD_REQUEST, DaemonErrorException.BadRequest.class,
            ErrorCode.UNSUPPORTED_VERSION, DaemonErrorException.UnsupportedVersion.class,
            ErrorCode.NOT_PERMITTED, DaemonErrorException.NotPermitted.class,
            ErrorCode.NOT_ATTACHED, DaemonErrorException.NotAttached.class,
            ErrorCode.QUOTA_EXCEEDED, DaemonErrorException.QuotaExceeded.class,
            ErrorCode.KERNEL_UNSUPPORTED, DaemonErrorException.KernelUnsupported.class,
            ErrorCode.BUSY, DaemonErrorException.Busy.class,
            ErrorCode.INTERNAL, DaemonErrorException.Internal.class);

    @Test
    void everyErrorCodeMapsToItsOwnTypedExceptionCarryingTheDaemonsMessage() {
        assertThat(EXPECTED.keySet()).as("every code has an expected type").containsExactlyInAnyOrder(ErrorCode.values());
        for (ErrorCode code : ErrorCode.values()) {
            DaemonErrorException e = DaemonErrorException.of(code, "acquire 'reader'", "the daemon's words");
            assertThat(e).as("type for %s", code).isExactlyInstanceOf(EXPECTED.get(code));
            assertThat(e.code()).isEqualTo(code);
            assertThat(e.daemonMessage()).isEqualTo("the daemon's words");
            assertThat(e).hasMessage("acquire 'reader': " + code + ": the daemon's words");
            assertThat(e).isInstanceOf(RingwardenException.class).isInstanceOf(java.io.IOException.class);
        }
    }
}
