package org.mergelab.recipe;

import java.nio.file.Path;

/** A recipe that cannot be run as written; the message names the recipe file and line. */
public class RecipeException extends RuntimeException {
    private final int line;

    public RecipeException(String where, int line, String message) {
        super(where + (line > 0 ? " line " + line : "") + ": " + message);
        this.line = line;
    }

    public RecipeException(Path file, int line, String message) {
        this(file == null ? "recipe" : file.toString(), line, message);
    }

    /** The 1-based line the problem is on, or 0 when it concerns the recipe as a whole. */
    public int line() {
        return line;
    }
}
