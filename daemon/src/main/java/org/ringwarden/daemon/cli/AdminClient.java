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
 */
final class AdminClient {
    @Option(names = "--admin-socket", paramLabel = "PATH",
            description = "The admin socket (default: from --config, else $RUNTIME_DIRECTORY/admin.sock or /run/ringwarden/admin.sock).")
    @Nullable Path adminSocket;

    @Option(names = "--config", paramLabel = "FILE", description = "Read the admin socket's path from the daemon's configuration.")
    @Nullable Path config;

    @Option(names = "--json", description = "Print the daemon's answer as JSON.")
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
        Path path = socket();
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

    /** Runs {@code request} and prints the answer with {@code human}; 0 on success, 1 on an error answer or failure. */
    int run(Request request, java.util.function.Function<Response, String> human, java.util.function.Predicate<Response> ok) {
        Response r;
        try {
            r = call(request);
        } catch (IOException | ConfigException | RefusedException e) {
            System.err.println("ringwarden: " + e.getMessage());
            return 1;
        }
        if (r instanceof Response.Error e) {
            if (json) {
                System.out.println(toJson(r));
            }
            System.err.println("ringwarden: the daemon refused: " + e.code() + ": " + e.message());
            return 1;
        }
        System.out.println(json ? toJson(r) : human.apply(r));
        return ok.test(r) ? 0 : 1;
    }
}
