package org.mergelab.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the folder a model reference names: a local folder (absolute, relative to the working directory, or
 * relative to the recipe's folder), or a folder of that name under the model home ({@code $MERGELAB_MODELS},
 * default {@code ~/.cache/mergelab/models}), where {@code mergelab demo} imports the stories260K family; failing
 * those, a Hugging Face Hub id ({@code ORG/NAME}, with an optional revision) resolves through the Hugging Face cache
 * ({@link HfCache}, shared with Python) and is downloaded there if missing ({@link Hub}).
 */
public final class ModelLocator {
    private final List<Path> searchDirs;
    private final Hub hub;
    private final DownloadProgress progress;

    /** Local folders only: Hub ids are not looked up. */
    public ModelLocator(List<Path> searchDirs) {
        this(searchDirs, null, DownloadProgress.NONE);
    }

    /** Local folders, then the Hub through {@code hub} (null: local only). */
    public ModelLocator(List<Path> searchDirs, Hub hub, DownloadProgress progress) {
        this.searchDirs = List.copyOf(searchDirs);
        this.hub = hub;
        this.progress = progress == null ? DownloadProgress.NONE : progress;
    }

    /**
     * Looks in the working directory, then {@code recipeDir} (if not null), then the model home, then the Hugging
     * Face cache and Hub as the environment configures them (downloads print one line per file on stderr).
     */
    public static ModelLocator forRecipe(Path recipeDir) {
        List<Path> dirs = new ArrayList<>();
        dirs.add(Path.of("").toAbsolutePath());
        if (recipeDir != null) dirs.add(recipeDir.toAbsolutePath());
        dirs.add(modelHome());
        return new ModelLocator(dirs, Hub.fromEnvironment(), DownloadProgress.lines(System.err));
    }

    /** Where imported models are kept. */
    public static Path modelHome() {
        String explicit = System.getProperty("mergelab.models", System.getenv("MERGELAB_MODELS"));
        if (explicit != null && !explicit.isBlank()) return Path.of(explicit).toAbsolutePath();
        return Path.of(System.getProperty("user.home"), ".cache", "mergelab", "models");
    }

    public Path locate(String model, String revision) {
        Path direct = Path.of(model);
        if (direct.isAbsolute()) {
            if (Files.isDirectory(direct)) return direct;
            throw new IllegalArgumentException("model folder " + model + " does not exist");
        }
        List<Path> tried = new ArrayList<>();
        for (Path dir : searchDirs) {
            Path p = dir.resolve(model).normalize();
            if (Files.isDirectory(p)) return p;
            tried.add(p);
        }
        if (hub != null && Hub.isRepoId(model)) {
            return hub.snapshot(model, revision, null, progress);
        }
        StringBuilder sb = new StringBuilder("model '" + model + "'" + (revision != null ? "@" + revision : "")
                + " was not found; looked in ");
        for (int i = 0; i < tried.size(); i++) sb.append(i > 0 ? ", " : "").append(tried.get(i));
        if (Hub.isRepoId(model)) {
            sb.append(" (it looks like a Hugging Face Hub id: fetch it with 'mergelab download ").append(model)
                    .append("')");
        }
        throw new IllegalArgumentException(sb.toString());
    }
}
