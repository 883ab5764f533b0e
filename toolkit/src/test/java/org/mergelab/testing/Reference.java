package org.mergelab.testing;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The committed reference files (toolkit/src/test/resources/reference, made by src/test/python/make_*.py). */
public final class Reference {
    private Reference() {}

    public static Path dir() {
        URL u = Reference.class.getClassLoader().getResource("reference");
        if (u == null) throw new IllegalStateException("test resource folder 'reference' is missing");
        try {
            return Path.of(u.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path file(String relative) {
        return dir().resolve(relative);
    }
}
