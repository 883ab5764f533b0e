package org.mergelab.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the folder a model reference names: a local folder (absolute, relative to the working directory, or
 * relative to the recipe's folder), or a folder of that name under the model home ({@code $MERGELAB_MODELS},
 * default {@code ~/.cache/mergelab/models}), where {@code mergelab demo} imports the stories260K family.
 */
public final class ModelLocator {
    private final List<Path> searchDirs;

    public ModelLocator(List<Path> searchDirs) {
        this.searchDirs = List.copyOf(searchDirs);
    }

    /** Looks in the working directory, then {@code recipeDir} (if not null), then the model home. */
    public static ModelLocator forRecipe(Path recipeDir) {
        List<Path> dirs = new ArrayList<>();
        dirs.add(Path.of("").toAbsolutePath());
        if (recipeDir != null) dirs.add(recipeDir.toAbsolutePath());
        dirs.add(modelHome());
        return new ModelLocator(dirs);
    }

    /** Where imported and downloaded models are kept. */
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
        StringBuilder sb = new StringBuilder("model '" + model + "'" + (revision != null ? "@" + revision : "")
                + " was not found; looked in ");
        for (int i = 0; i < tried.size(); i++) sb.append(i > 0 ? ", " : "").append(tried.get(i));
        if (model.chars().filter(c -> c == '/').count() == 1 && !model.startsWith(".")) {
            sb.append(" (it looks like a Hugging Face Hub id: download it into ").append(modelHome())
                    .append("/").append(model).append(" first)");
        }
        throw new IllegalArgumentException(sb.toString());
    }
}
