package org.ringwarden.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * What the documentation and the comments refer to, a reader can open: no "issue 7" (the
 * tracker is not part of the repository), no link that leaves the repository or points at a
 * file that is not there, and no module name that no module-info.java declares.
 */
class DocsReferencesTest {
    private static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();

    private static List<Path> sources() throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(REPOSITORY)) {
            s.filter(Files::isRegularFile)
                    .filter(p -> !REPOSITORY.relativize(p).toString().contains("target/")
                            && !REPOSITORY.relativize(p).startsWith(".git"))
                    .filter(p -> p.toString().matches(".*\\.(md|java|c|sh|in|service|socket|conf|example)$")
                            || REPOSITORY.relativize(p).startsWith("bench") && !p.getFileName().toString().contains("."))
                    .forEach(out::add);
        }
        return out;
    }

    @Test
    void nothingRefersToAnIssueNumber() throws IOException {
        Pattern issue = Pattern.compile("(?i)\\bissues? #?\\d+\\b(?!\\.\\.)"); // not "issues 1..2^53"
        List<String> found = new ArrayList<>();
        for (Path f : sources()) {
            String[] lines = Files.readString(f).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (issue.matcher(lines[i]).find() && !f.endsWith("DocsReferencesTest.java")) {
                    found.add(REPOSITORY.relativize(f) + ":" + (i + 1) + ": " + lines[i].strip());
                }
            }
        }
        assertThat(found).as("references to the issue tracker, which a reader of the repository cannot open").isEmpty();
    }

    @Test
    void markdownLinksStayInTheRepositoryAndExist() throws IOException {
        Pattern link = Pattern.compile("\\]\\(([^)#\\s]+)(#[^)]*)?\\)");
        List<String> bad = new ArrayList<>();
        for (Path f : sources()) {
            if (!f.toString().endsWith(".md")) {
                continue;
            }
            Matcher m = link.matcher(Files.readString(f));
            while (m.find()) {
                String target = m.group(1);
                Path resolved = f.resolveSibling(target).normalize();
                if (target.contains("://") || !resolved.startsWith(REPOSITORY) || !Files.exists(resolved)) {
                    bad.add(REPOSITORY.relativize(f) + " -> " + target);
                }
            }
        }
        assertThat(bad).as("links that leave the repository or point at nothing").isEmpty();
    }

    @Test
    void moduleNamesInTheDocsAreModulesThatExist() throws IOException {
        Set<String> modules = new TreeSet<>(Set.of("org.newsclub.net.unix")); // junixsocket's, which the client requires
        for (Path f : sources()) {
            if (f.getFileName().toString().equals("module-info.java")) {
                Matcher m = Pattern.compile("\\bmodule\\s+([\\w.]+)\\s*\\{").matcher(Files.readString(f));
                if (m.find()) {
                    modules.add(m.group(1));
                }
            }
        }
        assertThat(modules).as("every module has a module-info").contains("org.ringwarden.linux", "org.ringwarden.client",
                "org.ringwarden.protocol", "org.ringwarden.policies", "org.ringwarden.daemon");
        String client = Files.readString(REPOSITORY.resolve("docs/client.md"));
        assertThat(client).as("client.md says which module names to use, not 'the module name'")
                .doesNotContain("the module name");
        Matcher access = Pattern.compile("--enable-native-access=([\\w.,-]+)").matcher(client);
        List<String> named = new ArrayList<>();
        while (access.find()) {
            for (String name : access.group(1).split(",")) {
                if (!name.equals("ALL-UNNAMED")) {
                    named.add(name);
                }
            }
        }
        assertThat(named).as("client.md names the modules that need native access").isNotEmpty();
        assertThat(modules).as("modules client.md names").containsAll(named);
        for (Path f : sources()) {
            if (!f.toString().endsWith(".md")) {
                continue;
            }
            // "module `x`" is a Java module; a build module is called "Maven module `x`".
            Matcher mentioned = Pattern.compile("(?<!Maven )module `([\\w.]+)`").matcher(Files.readString(f));
            while (mentioned.find()) {
                assertThat(modules).as("module %s in %s", mentioned.group(1), REPOSITORY.relativize(f))
                        .contains(mentioned.group(1));
            }
        }
    }
}
