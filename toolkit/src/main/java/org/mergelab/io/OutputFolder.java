package org.mergelab.io;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * An output folder that appears only when complete. Everything is written into a hidden sibling
 * ({@code .NAME.partial-XXXX}) that is renamed to the target by {@link #commit()}; closing without committing,
 * an exception, or the JVM exiting deletes the partial folder. Nothing that looks like a finished model is ever left
 * behind by a failed or interrupted run, and an existing target is replaced only after the new one is complete.
 */
public final class OutputFolder implements Closeable {
    private final Path target;
    private final Path partial;
    private final Thread cleanup;
    private boolean committed;

    private OutputFolder(Path target, Path partial) {
        this.target = target;
        this.partial = partial;
        this.cleanup = new Thread(() -> deleteRecursively(partial), "mergelab-cleanup-" + partial.getFileName());
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /**
     * Starts writing {@code target}. Refuses an existing target unless {@code overwrite}; the target's parent must
     * exist or be creatable.
     */
    public static OutputFolder create(Path target, boolean overwrite) throws IOException {
        Path t = target.toAbsolutePath().normalize();
        if (Files.exists(t) && !overwrite) {
            throw new IOException("output folder " + target + " already exists; choose another or pass --force");
        }
        if (Files.exists(t) && !Files.isDirectory(t)) {
            throw new IOException("output " + target + " exists and is not a folder");
        }
        Path parent = t.getParent();
        Files.createDirectories(parent);
        Path partial = parent.resolve("." + t.getFileName() + ".partial-" + UUID.randomUUID().toString().substring(0, 8));
        Files.createDirectory(partial);
        return new OutputFolder(t, partial);
    }

    /** Where to write: the partial folder. */
    public Path dir() { return partial; }

    public Path resolve(String file) { return partial.resolve(file); }

    /** The final location. */
    public Path target() { return target; }

    /** Renames the partial folder to the target, replacing an existing target only now that the new one is whole. */
    public Path commit() throws IOException {
        if (committed) return target;
        Path old = null;
        if (Files.exists(target)) {
            old = target.resolveSibling("." + target.getFileName() + ".old-" + UUID.randomUUID().toString().substring(0, 8));
            move(target, old);
        }
        move(partial, target);
        committed = true;
        if (old != null) deleteRecursively(old);
        removeHook();
        return target;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    @Override
    public void close() {
        if (!committed) {
            deleteRecursively(partial);
            removeHook();
        }
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook itself is running or will run
        }
    }

    static void deleteRecursively(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(q -> {
                try {
                    Files.deleteIfExists(q);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // best effort: a partial folder left behind is hidden and never looks complete
        }
    }
}
