package org.ringwarden.daemon.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Reads the daemon's JSON configuration file strictly: unknown fields, duplicate fields,
 * wrong types and out-of-range values are errors that name the file, line and column. Every
 * field is optional; what is absent keeps its default ({@link DaemonConfig#defaults}).
 *
 * <pre>{@code
 * DaemonConfig c = ConfigLoader.load(Path.of("/etc/ringwarden/ringwarden.json"), System.getenv());
 * }</pre>
 */
public final class ConfigLoader {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h)");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*(B|KiB|MiB|GiB|TiB)?");
    private static final Pattern MODE = Pattern.compile("0?[0-7]{3}");

    private ConfigLoader() {
    }

    // The file's shape: everything optional, modes/durations/sizes as strings parsed below.
    record SocketFile(String path, String mode, String group) {
    }

    record LimitsFile(Integer connectionsTotal, Integer connectionsPerUid, String requestTimeout, String idleTimeout,
                      String ticketExpiry,
                      Integer leasesTotal, Integer leasesPerUid, Object bufferBytesTotal, Object bufferBytesPerUid) {
    }

    record AuditFile(String destination, String file, Object maxFileBytes, Integer keepFiles, String group) {
    }

    record ConfigFile(SocketFile socket, SocketFile adminSocket, String adminGroup, String policies, LimitsFile limits,
                      AuditFile audit, SocketFile agentSocket) {
    }

    /** Loads {@code file}, filling what it leaves out from the defaults for {@code env}. */
    public static DaemonConfig load(Path file, Map<String, String> env) throws ConfigException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(bytes, file.toString(), env);
    }

    /** Parses configuration text; {@code source} names it in error messages. */
    public static DaemonConfig parse(byte[] json, String source, Map<String, String> env) throws ConfigException {
        checkFieldNames(json, source);
        ConfigFile f;
        try {
            f = MAPPER.readValue(json, ConfigFile.class);
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException(at(source, e.getLocation()) + "unknown field \"" + e.getPropertyName()
                    + "\" (known: " + e.getKnownPropertyIds() + ")", e);
        } catch (JsonMappingException e) {
            throw new ConfigException(at(source, e.getLocation()) + e.getOriginalMessage().lines().findFirst().orElse(""), e);
        } catch (JacksonException e) {
            throw new ConfigException(at(source, e.getLocation()) + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(source + ": " + e.getMessage(), e);
        }
        if (f == null) {
            throw new ConfigException(source + ": the configuration must be a JSON object");
        }
        try {
            return build(f, env);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": " + e.getMessage(), e);
        }
    }

    /** The fields each object of the file may have, by the field that holds it ("" for the top level). */
    private static final Map<String, java.util.Set<String>> FIELDS = Map.of(
            "", components(ConfigFile.class),
            "socket", components(SocketFile.class),
            "adminSocket", components(SocketFile.class),
            "agentSocket", components(SocketFile.class),
            "limits", components(LimitsFile.class),
            "audit", components(AuditFile.class));

    private static java.util.Set<String> components(Class<? extends Record> r) {
        java.util.Set<String> s = new java.util.TreeSet<>();
        for (var c : r.getRecordComponents()) {
            s.add(c.getName());
        }
        return s;
    }

    /**
     * Refuses unknown fields at the field's own line and column. (Jackson binds records through
     * their constructor and reports an unknown field only at the end of its object.)
     */
    private static void checkFieldNames(byte[] json, String source) throws ConfigException {
        try (com.fasterxml.jackson.core.JsonParser p = MAPPER.getFactory().createParser(json)) {
            java.util.ArrayDeque<String> path = new java.util.ArrayDeque<>();
            String pending = "";
            com.fasterxml.jackson.core.JsonToken t;
            while ((t = p.nextToken()) != null) {
                switch (t) {
                    case START_OBJECT -> path.push(pending);
                    case END_OBJECT -> path.pop();
                    case FIELD_NAME -> {
                        String container = path.peek();
                        java.util.Set<String> known = path.size() == 1 ? FIELDS.get("") :
                                path.size() == 2 ? FIELDS.get(container) : null;
                        if (known != null && !known.contains(p.currentName())) {
                            throw new ConfigException(at(source, p.currentTokenLocation()) + "unknown field \""
                                    + p.currentName() + "\"" + (container.isEmpty() ? "" : " in \"" + container + "\"")
                                    + " (known: " + String.join(", ", known) + ")");
                        }
                        pending = p.currentName();
                    }
                    default -> {
                        // values are checked when binding
                    }
                }
            }
        } catch (JacksonException e) {
            throw new ConfigException(at(source, e.getLocation()) + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(source + ": " + e.getMessage(), e);
        }
    }

    private static String at(String source, JsonLocation loc) {
        return loc == null ? source + ": " : source + ":" + loc.getLineNr() + ":" + loc.getColumnNr() + ": ";
    }

    private static DaemonConfig build(ConfigFile f, Map<String, String> env) {
        DaemonConfig d = DaemonConfig.defaults(env);
        SocketSettings socket = socket("socket", f.socket(), d.socket());
        SocketSettings admin = socket("adminSocket", f.adminSocket(), d.adminSocket());
        // An admin group without an explicit admin socket group/mode: let that group connect.
        if (f.adminGroup() != null && (f.adminSocket() == null || f.adminSocket().mode() == null)) {
            admin = new SocketSettings(admin.path(), 0660, admin.group() != null ? admin.group() : f.adminGroup());
        }
        Path policies = f.policies() == null ? null : absolute("policies", f.policies());
        Limits limits = limits(f.limits(), d.limits());
        AuditSettings audit = audit(f.audit());
        // The OCI agent socket only when the file asks for it (docs/containers.md).
        SocketSettings agent = f.agentSocket() == null ? null
                : socket("agentSocket", f.agentSocket(), DaemonConfig.defaultAgentSocket(env));
        return new DaemonConfig(socket, admin, f.adminGroup(), policies, limits, audit, agent);
    }

    private static SocketSettings socket(String name, SocketFile s, SocketSettings def) {
        if (s == null) {
            return def;
        }
        Path path = s.path() == null ? def.path() : absolute(name + ".path", s.path());
        int mode = s.mode() == null ? def.mode() : mode(name + ".mode", s.mode());
        return new SocketSettings(path, mode, s.group() == null ? def.group() : s.group());
    }

    private static Limits limits(LimitsFile l, Limits def) {
        if (l == null) {
            return def;
        }
        return new Limits(
                l.connectionsTotal() == null ? def.connectionsTotal() : l.connectionsTotal(),
                l.connectionsPerUid() == null ? def.connectionsPerUid() : l.connectionsPerUid(),
                l.requestTimeout() == null ? def.requestTimeout() : duration("limits.requestTimeout", l.requestTimeout()),
                l.idleTimeout() == null ? def.idleTimeout() : duration("limits.idleTimeout", l.idleTimeout()),
                l.ticketExpiry() == null ? def.ticketExpiry() : duration("limits.ticketExpiry", l.ticketExpiry()),
                l.leasesTotal() == null ? def.leasesTotal() : l.leasesTotal(),
                l.leasesPerUid() == null ? def.leasesPerUid() : l.leasesPerUid(),
                l.bufferBytesTotal() == null ? def.bufferBytesTotal() : size("limits.bufferBytesTotal", l.bufferBytesTotal()),
                l.bufferBytesPerUid() == null ? def.bufferBytesPerUid() : size("limits.bufferBytesPerUid", l.bufferBytesPerUid()));
    }

    private static AuditSettings audit(AuditFile a) {
        if (a == null) {
            return AuditSettings.DEFAULT;
        }
        AuditSettings.Destination dest;
        if (a.destination() == null) {
            dest = a.file() != null ? AuditSettings.Destination.FILE : AuditSettings.DEFAULT.destination();
        } else {
            try {
                dest = AuditSettings.Destination.valueOf(a.destination().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("audit.destination must be \"file\", \"stdout\" or \"stderr\", not \""
                        + a.destination() + "\"");
            }
        }
        if (dest != AuditSettings.Destination.FILE) {
            onlyWithFile("maxFileBytes", a.maxFileBytes());
            onlyWithFile("keepFiles", a.keepFiles());
            onlyWithFile("group", a.group());
            return new AuditSettings(dest, a.file() == null ? null : absolute("audit.file", a.file()));
        }
        Path file = a.file() != null ? absolute("audit.file", a.file()) : AuditSettings.DEFAULT.file();
        return new AuditSettings(dest, file,
                a.maxFileBytes() == null ? AuditSettings.DEFAULT_MAX_FILE_BYTES : size("audit.maxFileBytes", a.maxFileBytes()),
                a.keepFiles() == null ? AuditSettings.DEFAULT_KEEP_FILES : a.keepFiles(), a.group());
    }

    private static void onlyWithFile(String field, Object value) {
        if (value != null) {
            throw new IllegalArgumentException("audit." + field + " is only meaningful with audit.destination \"file\"");
        }
    }

    private static Path absolute(String field, String value) {
        Path p = Path.of(value);
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException(field + " must be an absolute path, not \"" + value + "\"");
        }
        return p;
    }

    static int mode(String field, String value) {
        if (!MODE.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be an octal mode such as \"0660\", not \"" + value + "\"");
        }
        return Integer.parseInt(value, 8);
    }

    /** {@code "250ms"}, {@code "5s"}, {@code "2m"}, {@code "1h"}. */
    static Duration duration(String field, String value) {
        Matcher m = DURATION.matcher(value.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(field + " must be a duration such as \"5s\" or \"250ms\", not \"" + value + "\"");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    /** A byte count: a JSON integer, or a string such as {@code "256MiB"}. */
    static long size(String field, Object value) {
        if (value instanceof Integer || value instanceof Long) {
            return ((Number) value).longValue();
        }
        if (value instanceof String s) {
            Matcher m = SIZE.matcher(s.trim());
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                int shift = switch (m.group(2) == null ? "B" : m.group(2)) {
                    case "KiB" -> 10;
                    case "MiB" -> 20;
                    case "GiB" -> 30;
                    case "TiB" -> 40;
                    default -> 0;
                };
                if (Long.numberOfLeadingZeros(n) <= shift) {
                    throw new IllegalArgumentException(field + " is too large: \"" + s + "\"");
                }
                return n << shift;
            }
        }
        throw new IllegalArgumentException(field + " must be a byte count such as 268435456 or \"256MiB\", not " + value);
    }
}
