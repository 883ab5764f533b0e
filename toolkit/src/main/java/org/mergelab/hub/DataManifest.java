package org.mergelab.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The list of data files MergeLab uses (datasets/manifest.json, shipped in the jar): path in the data folder, size,
 * sha256, licence and origin. {@link #check(Path)} says which are present and intact.
 */
public final class DataManifest {
    public record Entry(String path, String kind, long bytes, String sha256, String licence, String origin,
                        String description) {}

    private final List<Entry> entries;

    private DataManifest(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    public static DataManifest load() {
        try (InputStream in = DataManifest.class.getResourceAsStream("/org/mergelab/datasets/manifest.json")) {
            if (in == null) throw new IllegalStateException("datasets/manifest.json is missing from the toolkit jar");
            JsonNode root = new ObjectMapper().readTree(in);
            List<Entry> out = new ArrayList<>();
            for (JsonNode f : root.path("files")) {
                out.add(new Entry(f.path("path").asText(), f.path("kind").asText(), f.path("bytes").asLong(),
                        f.path("sha256").asText(), f.path("licence").asText(), f.path("origin").asText(),
                        f.path("description").asText()));
            }
            return new DataManifest(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public List<Entry> entries() {
        return entries;
    }

    /** One row per file: path, status (ok, missing, wrong size, wrong sha256), licence, origin. */
    public Table check(Path dataRoot) {
        StringColumn path = StringColumn.create("path");
        StringColumn status = StringColumn.create("status");
        StringColumn licence = StringColumn.create("licence");
        StringColumn origin = StringColumn.create("origin");
        for (Entry e : entries) {
            path.append(e.path());
            status.append(status(dataRoot.resolve(e.path()), e));
            licence.append(e.licence());
            origin.append(e.origin());
        }
        return Table.create("data folder " + dataRoot, path, status, licence, origin);
    }

    private static String status(Path file, Entry e) {
        try {
            if (!Files.isRegularFile(file)) return "missing";
            if (Files.size(file) != e.bytes()) return "wrong size (" + Files.size(file) + " bytes, expected " + e.bytes() + ")";
            return sha256(file).equals(e.sha256()) ? "ok" : "wrong sha256";
        } catch (IOException ex) {
            return "unreadable: " + ex.getMessage();
        }
    }

    static String sha256(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
