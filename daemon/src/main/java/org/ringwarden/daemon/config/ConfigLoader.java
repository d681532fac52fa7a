package org.ringwarden.daemon.config;

import static java.util.Objects.requireNonNull;

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
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;

import org.jspecify.annotations.Nullable;
import org.ringwarden.policy.Names;

/**
 * Reads the daemon's JSON configuration file strictly: unknown fields, duplicate fields,
 * wrong types and out-of-range values are errors in the policy loader's form: the file, line and
 * column, the field ({@code limits.connectionsTotal}), what it must hold and what it held, and
 * for a misspelt field the nearest known one. Every field is optional; what is absent keeps its
 * default ({@link DaemonConfig#defaults}).
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
        Map<String, JsonLocation> places = checkShape(json, source);
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
            // The message starts with the field it is about ("limits.requestTimeout must be ..."):
            // point at that field's value, as the type errors do.
            String m = String.valueOf(e.getMessage());
            JsonLocation place = places.entrySet().stream()
                    .filter(p -> m.startsWith(p.getKey() + " ") || m.startsWith(p.getKey() + ",")
                            || m.startsWith("socket and adminSocket") && p.getKey().equals("adminSocket.path"))
                    .max(java.util.Comparator.comparingInt(p -> p.getKey().length()))
                    .map(Map.Entry::getValue).orElse(null);
            throw new ConfigException(at(source, place) + m, e);
        }
    }

    /**
     * What each field of the file must hold, by its path ({@code "limits.connectionsTotal"});
     * objects by the path of the field that holds them ({@code ""} for the top level).
     */
    private static final Map<String, Class<?>> TYPES = types();

    private static Map<String, Class<?>> types() {
        Map<String, Class<?>> t = new java.util.HashMap<>();
        t.put("", ConfigFile.class);
        addTypes("", ConfigFile.class, t);
        return Map.copyOf(t);
    }

    private static void addTypes(String prefix, Class<?> record, Map<String, Class<?>> t) {
        for (var c : record.getRecordComponents()) {
            String path = prefix.isEmpty() ? c.getName() : prefix + "." + c.getName();
            t.put(path, c.getType());
            if (c.getType().isRecord()) {
                addTypes(path, c.getType(), t);
            }
        }
    }

    /** The fields an object (by the path of the field that holds it) may have. */
    private static java.util.Set<String> fieldsOf(String objectPath) {
        Class<?> type = TYPES.get(objectPath);
        java.util.Set<String> s = new java.util.TreeSet<>();
        if (type != null && type.isRecord()) {
            for (var c : type.getRecordComponents()) {
                s.add(c.getName());
            }
        }
        return s;
    }

    /**
     * Checks every field's name and the JSON type of its value, where they are, before binding:
     * an unknown field (with the nearest known one), a string where a number belongs, a null.
     * Jackson binds records through their constructor and reports such mistakes at the end of
     * their object, in its own words. Returns where each field's value is, for the value checks
     * that come after binding.
     */
    private static Map<String, JsonLocation> checkShape(byte[] json, String source) throws ConfigException {
        Map<String, JsonLocation> places = new java.util.HashMap<>();
        try (JsonParser p = MAPPER.getFactory().createParser(json)) {
            java.util.ArrayDeque<String> objects = new java.util.ArrayDeque<>();
            String field = "";
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_OBJECT) {
                throw new ConfigException(at(source, p.currentTokenLocation())
                        + "the configuration must be one JSON object ({ ... }), not " + describe(t, p));
            }
            objects.push("");
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.END_OBJECT) {
                    objects.pop();
                    continue;
                }
                String container = requireNonNull(objects.peek(), "a field is inside an object");
                if (t == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    java.util.Set<String> known = fieldsOf(container);
                    if (!known.contains(name)) {
                        String hint = Names.suggest(name, known);
                        throw new ConfigException(at(source, p.currentTokenLocation()) + "unknown field \"" + name + "\""
                                + (container.isEmpty() ? "" : " in \"" + container + "\"")
                                + (hint == null ? "" : "; did you mean \"" + hint + "\"?")
                                + " (known: " + String.join(", ", known) + ")");
                    }
                    field = container.isEmpty() ? name : container + "." + name;
                    continue;
                }
                // A value: of the field just named.
                places.put(field, p.currentTokenLocation());
                Class<?> expected = requireNonNull(TYPES.get(field), "every known field has a type");
                if (!fits(expected, t, p)) {
                    throw new ConfigException(at(source, p.currentTokenLocation()) + field + ": expected "
                            + expectation(expected) + ", not " + describe(t, p));
                }
                if (t == JsonToken.START_OBJECT) {
                    objects.push(field);
                }
            }
        } catch (JacksonException e) {
            throw new ConfigException(at(source, e.getLocation()) + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(source + ": " + e.getMessage(), e);
        }
        return places;
    }

    private static boolean fits(Class<?> expected, JsonToken t, JsonParser p) throws IOException {
        if (expected.isRecord()) {
            return t == JsonToken.START_OBJECT;
        }
        if (expected == String.class) {
            return t == JsonToken.VALUE_STRING;
        }
        if (expected == Integer.class) {
            return t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT;
        }
        // Object: a byte count, a number or a string such as "256MiB" (checked by size()).
        return t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_STRING;
    }

    private static String expectation(Class<?> expected) {
        if (expected.isRecord()) {
            return "an object { ... }";
        }
        if (expected == String.class) {
            return "a string";
        }
        if (expected == Integer.class) {
            return "a whole number (up to 2147483647, without quotes)";
        }
        return "a byte count: a whole number, or a string such as \"256MiB\"";
    }

    private static String describe(@Nullable JsonToken t, JsonParser p) throws IOException {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case VALUE_STRING -> "the string \"" + p.getText() + "\"";
            case VALUE_NUMBER_INT -> p.getNumberType() == JsonParser.NumberType.INT ? "the number " + p.getText()
                    : "the number " + p.getText() + ", which is too large";
            case VALUE_NUMBER_FLOAT -> "the number " + p.getText() + ", which is not whole";
            case VALUE_TRUE, VALUE_FALSE -> p.getText();
            case VALUE_NULL -> "null (leave the field out for its default)";
            case START_ARRAY -> "an array [ ... ]";
            case START_OBJECT -> "an object { ... }";
            default -> t.toString();
        };
    }

    private static String at(String source, @Nullable JsonLocation loc) {
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
