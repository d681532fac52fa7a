package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;

/**
 * The policy set in force, replaced atomically by {@link #reload()}: a reload that finds any
 * error keeps the previous set and reports why. Readers never see a partial set.
 *
 * <pre>
 * PolicyStore store = PolicyStore.open(PolicyLoader.withDefaults(), PolicyLoader.DEFAULT_DIRECTORY);
 * // on SIGHUP or an admin "reload":
 * LoadResult r = store.reload();
 * if (!r.ok()) log.error("policies unchanged: {}", r.errors());
 * </pre>
 */
public final class PolicyStore {
    private final PolicyLoader loader;
    private final @Nullable Path directory;
    private final AtomicReference<PolicySet> current;

    private PolicyStore(PolicyLoader loader, @Nullable Path directory, PolicySet initial) {
        this.loader = loader;
        this.directory = directory;
        this.current = new AtomicReference<>(initial);
    }

    /**
     * Loads {@code directory} (or the bundled set when it is null) and starts with it.
     *
     * @throws PolicyException if the first load has an error: there is no previous set to keep
     */
    public static PolicyStore open(PolicyLoader loader, @Nullable Path directory) throws PolicyException {
        requireNonNull(loader, "loader");
        LoadResult r = directory == null ? loader.loadBundled() : loader.loadDirectory(directory);
        return new PolicyStore(loader, directory, r.orThrow());
    }

    /** The set in force now. */
    public PolicySet current() {
        return current.get();
    }

    /** The directory this store reloads; null for the bundled set. */
    public @Nullable Path directory() {
        return directory;
    }

    /** Loads again; replaces the set only if the load had no error. */
    public LoadResult reload() {
        LoadResult r = directory == null ? loader.loadBundled() : loader.loadDirectory(directory);
        r.policies().ifPresent(current::set);
        return r;
    }
}
