package org.mergelab.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.testing.Reference;

/**
 * MergeLab and Python's huggingface_hub share one cache (reference/hub/cache-interop.json, made by
 * make_hub_reference.py, which ran both against the same {@link FakeHub}): a cache huggingface_hub wrote is rebuilt
 * here path for path and MergeLab finds the model in it offline; and MergeLab, downloading the same repository now,
 * writes exactly the tree that huggingface_hub then read offline (every file found, transformers loaded the model)
 * and that huggingface_hub itself writes.
 */
class HubInteropTest {
    @TempDir
    Path tmp;

    static JsonNode ref() throws IOException {
        return new ObjectMapper().readTree(Reference.file("hub/cache-interop.json").toFile());
    }

    @Test
    void findsAModelInACachePythonWroteWithoutTheNetwork() throws IOException {
        JsonNode ref = ref();
        Path cache = tmp.resolve("python-cache");
        Files.createDirectories(cache);
        for (JsonNode e : ref.get("python_cache")) {
            Path p = cache.resolve(e.get("path").asText());
            switch (e.get("type").asText()) {
                case "dir" -> Files.createDirectories(p);
                case "symlink" -> Files.createSymbolicLink(p, Path.of(e.get("target").asText()));
                default -> Files.write(p, e.has("source")
                        ? Files.readAllBytes(Reference.file("hub/tiny-repo/" + e.get("source").asText()))
                        : e.path("text").asText("").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        String repo = ref.get("repo").asText();
        // Offline, with an endpoint that nothing listens on: any request would fail.
        Hub offline = new Hub(new Hub.Settings(java.net.URI.create("http://127.0.0.1:9"), null, true, new HfCache(cache)),
                new PrintStream(PrintStream.nullOutputStream()));
        Path dir = offline.snapshot(repo, null, null, DownloadProgress.NONE);
        assertEquals(cache.resolve("models--test-org--tiny-llama/snapshots/" + ref.get("commit").asText()), dir);
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(Reference.file("hub/tiny-repo/" + f)), Files.readAllBytes(dir.resolve(f)), f);
        }
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(ref.get("python_reads_mergelab_cache").get("transformers_tensors").asInt(), c.tensorNames().size());
        }
        ModelLocator loc = new ModelLocator(List.of(tmp.resolve("nowhere")), offline, DownloadProgress.NONE);
        assertEquals(dir, loc.locate(repo, "main"));
    }

    @Test
    void writesTheTreePythonWritesAndReads() throws IOException {
        JsonNode ref = ref();
        JsonNode reads = ref.get("python_reads_mergelab_cache");
        assertTrue(reads.get("transformers_loads").asBoolean(), "transformers loaded the model from MergeLab's cache");
        reads.get("files").fields().forEachRemaining(e ->
                assertEquals(ref.get("files").get(e.getKey()).asText(), e.getValue().get("sha256").asText(), e.getKey()));
        Path cache = tmp.resolve("ours");
        try (FakeHub hub = new FakeHub()) {
            hub.add(new FakeHub.Repo(ref.get("repo").asText()).commit("main", ref.get("commit").asText(),
                    FakeHub.filesOf(Reference.file("hub/tiny-repo"))));
            new Hub(new Hub.Settings(hub.endpoint(), null, false, new HfCache(cache)),
                    new PrintStream(PrintStream.nullOutputStream())).snapshot(ref.get("repo").asText(), null, null,
                    DownloadProgress.NONE);
        }
        List<String> ours = tree(cache);
        assertEquals(lines(ref.get("mergelab_cache")), ours, "the tree huggingface_hub read offline");
        assertEquals(lines(ref.get("python_cache")).stream().filter(l -> !l.split(" ")[1].equals("CACHEDIR.TAG")).toList(),
                ours, "the tree huggingface_hub writes, lock files included (less its CACHEDIR.TAG)");
        for (JsonNode f : reads.get("files")) {
            assertTrue(Files.isRegularFile(cache.resolve(f.get("path").asText())), f.get("path").asText());
        }
    }

    /** One line per path: type, path, symlink target or content hash. */
    static List<String> tree(Path root) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(p -> !p.equals(root)).sorted(Comparator.comparing(Path::toString)).toList()) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) out.add("symlink " + rel + " -> " + Files.readSymbolicLink(p));
                else if (Files.isDirectory(p)) out.add("dir " + rel);
                else out.add("file " + rel + " " + Hub.digest(p, "SHA-256", null));
            }
        }
        return out.stream().sorted().toList();
    }

    static List<String> lines(JsonNode entries) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : entries) {
            String path = e.get("path").asText();
            out.add(switch (e.get("type").asText()) {
                case "symlink" -> "symlink " + path + " -> " + e.get("target").asText();
                case "dir" -> "dir " + path;
                default -> "file " + path + " " + e.get("sha256").asText();
            });
        }
        return out.stream().sorted().toList();
    }
}
