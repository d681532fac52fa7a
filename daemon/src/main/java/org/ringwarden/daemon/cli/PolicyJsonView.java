package org.ringwarden.daemon.cli;

import java.util.Locale;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.policy.Allowed;
import org.ringwarden.policy.BufferSpec;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.FileSpec;
import org.ringwarden.policy.FlagDisposition;
import org.ringwarden.policy.TransparentSpec;

/** Compiled policies as JSON, for {@code --json}. */
final class PolicyJsonView {
    private PolicyJsonView() {
    }

    static ObjectNode policy(CompiledPolicy p) {
        ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
        o.put("name", p.name());
        o.put("description", p.description());
        o.put("mode", p.mode().word());
        o.put("file", p.source());
        ObjectNode who = o.putObject("acquirers");
        who.put("everyone", p.acquirers().everyone());
        p.acquirers().uids().forEach(who.putArray("uids")::add);
        p.acquirers().gids().forEach(who.putArray("gids")::add);
        if (!who.has("uids")) {
            who.putArray("uids");
        }
        if (!who.has("gids")) {
            who.putArray("gids");
        }
        var containers = who.putArray("containers"); // subjects.containers (docs/containers.md)
        for (var c : p.acquirers().containers()) {
            ObjectNode m = containers.addObject();
            if (c.id() != null) {
                m.put("id", c.id());
            }
            if (c.podNamespace() != null) {
                m.put("podNamespace", c.podNamespace());
            }
            if (c.podName() != null) {
                m.put("podName", c.podName());
            }
        }
        ObjectNode ring = o.putObject("ring");
        ring.put("sqEntries", p.ring().sqEntries());
        ring.put("cqEntries", p.ring().cqEntries());
        names(ring.putArray("setupFlags"), p.ring().setupFlags());
        ring.put("setupMask", p.ring().setupMask());
        ring.put("creationFlags", p.ring().creationFlags());
        ring.put("enabler", p.ring().enabler().name().toLowerCase(Locale.ROOT));
        ArrayNode files = o.putArray("files");
        for (int i = 0; i < p.files().size(); i++) {
            FileSpec f = p.files().get(i);
            ObjectNode e = files.addObject();
            e.put("index", i);
            e.put("name", f.name());
            e.put("path", f.path().toString());
            e.put("openFlags", f.describeOpenFlags());
            e.put("openFlagsValue", f.openFlags());
            e.put("createMode", String.format("%04o", f.createMode()));
            e.put("resolveFlags", f.resolveFlags());
        }
        o.put("maxClientFds", p.maxClientFds());
        ArrayNode bufs = o.putArray("buffers");
        for (int i = 0; i < p.buffers().size(); i++) {
            BufferSpec b = p.buffers().get(i);
            bufs.addObject().put("index", i).put("name", b.name()).put("bytes", b.bytes());
        }
        o.putObject("limits").put("leasesPerUser", p.limits().leasesPerUser())
                .put("bufferBytesPerUser", p.limits().bufferBytesPerUser());
        o.set("allowed", allowed(p.allowed()));
        o.set("restrictions", restrictions(p));
        o.set("transparent", transparent(p.transparent()));
        return o;
    }

    /** The grant's {@code allowed} object, as protocol.md spells it. */
    static ObjectNode allowed(Allowed a) {
        ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
        a.sqeOpNames().forEach(o.putArray("sqeOps")::add);
        a.sqeFlagsAllowedNames().forEach(o.putArray("sqeFlagsAllowed")::add);
        a.sqeFlagsRequiredNames().forEach(o.putArray("sqeFlagsRequired")::add);
        a.registerOpNames().forEach(o.putArray("registerOps")::add);
        for (String k : new String[] {"sqeOps", "sqeFlagsAllowed", "sqeFlagsRequired", "registerOps"}) {
            if (!o.has(k)) {
                o.putArray(k);
            }
        }
        return o;
    }

    static ArrayNode restrictions(CompiledPolicy p) {
        ArrayNode a = PolicyCliOptions.JSON.createArrayNode();
        for (Restriction r : p.restrictions()) {
            ObjectNode e = a.addObject();
            e.put("type", r.type().kernelName());
            e.put("opcode", r.type().abi());
            e.put("value", r.value());
            e.put("meaning", r.toString());
        }
        return a;
    }

    static ObjectNode transparent(TransparentSpec t) {
        ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
        o.put("enabled", t.enabled());
        ArrayNode honour = o.putArray("honour");
        ArrayNode drop = o.putArray("drop");
        ArrayNode refuse = o.putArray("refuse");
        for (SetupFlag f : SetupFlag.values()) {
            FlagDisposition d = t.disposition(f);
            (d == FlagDisposition.HONOUR ? honour : d == FlagDisposition.DROP ? drop : refuse).add(f.kernelName());
        }
        o.put("maxSqEntries", t.maxSqEntries());
        o.put("maxCqEntries", t.maxCqEntries());
        return o;
    }

    private static void names(ArrayNode a, Iterable<? extends KernelConstant> cs) {
        cs.forEach(c -> a.add(c.kernelName()));
    }
}
