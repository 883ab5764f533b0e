package org.mergelab.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the data MergeLab's demo, tests and notebooks use lives (models and corpora that are never committed):
 * {@code $MERGELAB_DATA} (or the system property {@code mergelab.data}); otherwise {@code ../shared} beside the
 * checkout, found by walking up from the launcher's home ({@code mergelab.home}) or the working directory.
 * {@code datasets/manifest.json} in the repository says what each file is and where it originally comes from.
 */
public final class SharedData {
    private SharedData() {}

    public static Optional<Path> find() {
        String explicit = System.getProperty("mergelab.data", System.getenv("MERGELAB_DATA"));
        if (explicit != null && !explicit.isBlank()) {
            return Optional.of(Path.of(explicit).toAbsolutePath().normalize());
        }
        String home = System.getProperty("mergelab.home");
        if (home != null) {
            Optional<Path> p = walkUp(Path.of(home));
            if (p.isPresent()) return p;
        }
        return walkUp(Path.of("").toAbsolutePath());
    }

    private static Optional<Path> walkUp(Path start) {
        for (Path p = start.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared");
            if (Files.isDirectory(candidate.resolve("models"))) return Optional.of(candidate);
        }
        return Optional.empty();
    }

    /** The data folder, or a clear error saying how to provide it. */
    public static Path root() {
        return find().orElseThrow(() -> new IllegalStateException(
                "MergeLab's data folder was not found: set MERGELAB_DATA to a folder holding models/ and datasets/"
                        + " (by default ../shared beside the checkout; datasets/manifest.json lists every file and"
                        + " where to download it)"));
    }

    /** A file under the data folder, checked to exist. */
    public static Path file(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException(p + " is missing from the data folder (MERGELAB_DATA=" + root()
                    + "); datasets/manifest.json says where it comes from");
        }
        return p;
    }
}
