package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;

import org.ringwarden.daemon.config.ConfigException;
import org.ringwarden.daemon.config.ConfigLoader;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.protocol.Frames;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import picocli.CommandLine.Option;

import org.jspecify.annotations.Nullable;

/**
 * What {@code status}, {@code leases} and {@code reload} share: finding the admin socket and
 * one request/answer over it (plain JDK Unix socket: no descriptors travel on the admin socket).
 *
 * <p>Exit codes, one per kind of outcome so that a script can tell a daemon that is down from
 * one that said no: {@value #OK}, {@value #REFUSED} (the daemon answered and refused),
 * {@value #USAGE} (picocli's usage errors, and a {@code --config} that does not load),
 * {@value #UNREACHABLE} (no daemon answered on the admin socket). With {@code --json} every
 * outcome is one JSON object on standard output; a failure is shaped like the daemon's own
 * {@code error} answer ({@code type}, {@code code}, {@code message}), with the CLI's codes
 * {@code UNREACHABLE} and {@code CONFIG} beside the protocol's.
 */
final class AdminClient {
    /** The daemon answered and did what was asked. */
    static final int OK = 0;
    /** The daemon answered with a refusal (an {@code error} answer, or a reload it did not put in force). */
    static final int REFUSED = 1;
    /** A usage error (picocli's own exit code for them), or a {@code --config} that cannot be read. */
    static final int USAGE = 2;
    /** No daemon answered on the admin socket (absent, not listening, not ours to connect to, or hung up). */
    static final int UNREACHABLE = 3;

    // The exit codes section of each admin command's help and man page (constants: annotation values).
    static final String EXIT_OK = OK + ":the daemon answered and did what was asked";
    static final String EXIT_REFUSED = REFUSED + ":the daemon refused (an error answer; for reload: the new policy set "
            + "was not put in force, the running one stays)";
    static final String EXIT_USAGE = USAGE + ":usage error, or the --config file cannot be read";
    static final String EXIT_UNREACHABLE = UNREACHABLE + ":no daemon answered on the admin socket (not running, "
            + "another path, or no permission to connect)";
    @Option(names = "--admin-socket", paramLabel = "PATH",
            description = "The admin socket (default: from --config, else $RUNTIME_DIRECTORY/admin.sock or /run/ringwarden/admin.sock).")
    @Nullable Path adminSocket;

    @Option(names = "--config", paramLabel = "FILE", description = "Read the admin socket's path from the daemon's configuration.")
    @Nullable Path config;

    @Option(names = "--json", description = "Print the daemon's answer, or why there is none, as one JSON object.")
    boolean json;

    Path socket() throws ConfigException {
        if (adminSocket != null) {
            return adminSocket;
        }
        Map<String, String> env = System.getenv();
        DaemonConfig c = config == null ? DaemonConfig.defaults(env) : ConfigLoader.load(config, env);
        return c.adminSocket().path();
    }

    Response call(Request request) throws IOException, ConfigException, RefusedException {
        return call(socket(), request);
    }

    private static Response call(Path path, Request request) throws IOException, RefusedException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(path));
            Frames.write(Channels.newOutputStream(ch), ProtocolCodec.encode(request));
            InputStream in = Channels.newInputStream(ch);
            return ProtocolCodec.decodeResponse(Frames.read(in));
        } catch (IOException e) {
            throw new IOException("cannot talk to the daemon at " + path + ": " + e.getMessage(), e);
        }
    }

    /** The answer as pretty JSON (the wire form, indented). */
    static String toJson(Response r) {
        try {
            ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            return m.writeValueAsString(m.readTree(ProtocolCodec.encode(r)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A failure on this side of the socket as JSON, shaped like the daemon's {@code error} answer. */
    static String errorJson(String code, String message, @Nullable Path socket) {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        var o = m.createObjectNode();
        o.put("type", "error");
        o.put("code", code);
        o.put("message", message);
        if (socket != null) {
            o.put("socket", socket.toString());
        }
        try {
            return m.writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs {@code request} and prints the answer with {@code human} (or as JSON); returns the
     * exit code: {@link #OK}, {@link #REFUSED} for an error answer or one {@code ok} rejects,
     * {@link #USAGE} for a {@code --config} that does not load, {@link #UNREACHABLE} when no
     * daemon answers.
     */
    int run(Request request, java.util.function.Function<Response, String> human, java.util.function.Predicate<Response> ok) {
        Path path;
        try {
            path = socket();
        } catch (ConfigException e) {
            fail("CONFIG", String.valueOf(e.getMessage()), null);
            return USAGE;
        }
        Response r;
        try {
            r = call(path, request);
        } catch (IOException e) {
            fail("UNREACHABLE", String.valueOf(e.getMessage()), path);
            return UNREACHABLE;
        } catch (RefusedException e) {
            // The peer answered with something that is not a ringwarden answer: not a daemon we can talk to.
            fail("UNREACHABLE", "the daemon at " + path + " sent an unreadable answer: " + e.getMessage(), path);
            return UNREACHABLE;
        }
        if (r instanceof Response.Error e) {
            if (json) {
                System.out.println(toJson(r));
            }
            System.err.println("ringwarden: the daemon refused: " + e.code() + ": " + e.message());
            return REFUSED;
        }
        System.out.println(json ? toJson(r) : human.apply(r));
        return ok.test(r) ? OK : REFUSED;
    }

    private void fail(String code, String message, @Nullable Path socket) {
        if (json) {
            System.out.println(errorJson(code, message, socket));
        }
        System.err.println("ringwarden: " + message);
    }
}
