package org.mergelab.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.testing.Reference;

/**
 * Downloads from a local Hub stand-in ({@link FakeHub}, 127.0.0.1 only; never the network) into a Hugging Face
 * cache: the files chosen, the layout (blobs named by ETag, relative snapshot symlinks, refs), revisions, resumed and
 * corrupt downloads, gated and missing repositories, offline mode, and hostile listings and indexes.
 */
class HubTest {
    static final String C1 = "1111111111111111111111111111111111111111";
    static final String C2 = "2222222222222222222222222222222222222222";
    static FakeHub hub;
    @TempDir
    static Path models;
    static Map<String, byte[]> tiny, tinyV2, sharded;

    @TempDir
    Path cacheDir;

    @BeforeAll
    static void serve() throws IOException {
        tiny = model("tiny", 3, 1_000_000);
        tiny.put("tokenizer.json", "{\"version\": \"1.0\"}\n".getBytes(StandardCharsets.UTF_8));
        tiny.put("README.md", "# tiny\n".getBytes(StandardCharsets.UTF_8));
        tiny.put("pytorch_model.bin", Files.readAllBytes(Reference.file("formats/torch/state_dict.bin")));
        tiny.put("original/params.json", "{}".getBytes(StandardCharsets.UTF_8));
        tinyV2 = new LinkedHashMap<>(tiny);
        tinyV2.putAll(model("tiny2", 4, 1_000_000));
        tinyV2.put("config.json", tiny.get("config.json")); // unchanged between the commits
        sharded = model("sharded", 5, 20_000);
        Map<String, byte[]> bins = FakeHub.filesOf(Reference.file("formats/torch/sharded"));
        Map<String, byte[]> badIndex = new LinkedHashMap<>(model("bad", 6, 1_000_000));
        badIndex.put("model.safetensors.index.json",
                "{\"weight_map\": {\"model.norm.weight\": \"../../evil.safetensors\"}}".getBytes(StandardCharsets.UTF_8));
        Map<String, byte[]> badName = new LinkedHashMap<>(tiny);
        badName.put("../outside.json", "{}".getBytes(StandardCharsets.UTF_8));
        hub = new FakeHub();
        hub.add(new FakeHub.Repo("test-org/tiny").commit("main", C1, tiny).commit("v2", C2, tinyV2))
                .add(new FakeHub.Repo("test-org/sharded").commit("main", C1, sharded))
                .add(new FakeHub.Repo("test-org/bin-only").commit("main", C2, bins))
                .add(new FakeHub.Repo("test-org/gated").commit("main", C1, tiny).gated())
                .add(new FakeHub.Repo("test-org/bad-index").commit("main", C1, badIndex))
                .add(new FakeHub.Repo("test-org/bad-name").commit("main", C1, badName))
                .rename("old-org/tiny", "test-org/tiny");
    }

    @AfterAll
    static void stop() {
        hub.close();
    }

    /** A small Qwen2-shaped model with random weights, as the files of a repository. */
    static Map<String, byte[]> model(String name, long seed, long maxShard) throws IOException {
        ObjectNode cfg = TestModels.spec("Qwen2.5-0.5B").config().deepCopy();
        cfg.put("hidden_size", 32).put("intermediate_size", 48).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", 64);
        Path dir = TestModels.write(new TestModels.Spec(name, "none", cfg, maxShard), models.resolve(name), DType.BF16,
                seed, 0, 0);
        return FakeHub.filesOf(dir);
    }

    Hub client(String token, boolean offline) {
        return new Hub(new Hub.Settings(hub.endpoint(), token, offline, new HfCache(cacheDir)),
                new PrintStream(PrintStream.nullOutputStream()));
    }

    Path get(String repo, String rev) {
        return client(null, false).snapshot(repo, rev, null, DownloadProgress.NONE);
    }

    @Test
    void downloadsOnlyWhatAModelNeedsInTheHuggingFaceLayout() throws IOException {
        Path dir = get("test-org/tiny", null);
        Path repo = cacheDir.resolve("models--test-org--tiny");
        assertEquals(repo.resolve("snapshots").resolve(C1), dir);
        assertEquals(Set.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json"), files(dir),
                "no README, no .bin beside the safetensors, nothing from original/");
        assertEquals(C1, Files.readString(repo.resolve("refs/main")));
        assertEquals(Path.of("../../blobs/" + FakeHub.sha256(tiny.get("model.safetensors"))),
                Files.readSymbolicLink(dir.resolve("model.safetensors")), "LFS files: blobs named by sha256");
        assertEquals(Path.of("../../blobs/" + FakeHub.gitSha1(tiny.get("config.json"))),
                Files.readSymbolicLink(dir.resolve("config.json")), "other files: blobs named by git sha1");
        for (String f : files(dir)) assertArrayEquals(tiny.get(f), Files.readAllBytes(dir.resolve(f)), f);
        try (Stream<Path> s = Files.list(repo.resolve("blobs"))) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(".incomplete")));
        }
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(2 * 12 + 2, c.tensorNames().size(), "2 layers of q/k/v/o, 3 biases, 3 MLP, 2 norms; embed, norm");
        }
    }

    @Test
    void aCachedModelNeedsNoDownloadAndOfflineModeNeedsNoNetwork() {
        Path first = get("test-org/tiny", "main");
        hub.clearLog();
        assertEquals(first, get("test-org/tiny", "main"));
        assertEquals(List.of("GET /api/models/test-org/tiny/revision/main"), hub.log(), "only the listing, no file");
        hub.clearLog();
        assertEquals(first, client(null, true).snapshot("test-org/tiny", null, null, DownloadProgress.NONE));
        assertEquals(first, client(null, true).snapshot("test-org/tiny", C1, null, DownloadProgress.NONE));
        HubException e = assertThrows(HubException.class,
                () -> client(null, true).snapshot("test-org/sharded", null, null, DownloadProgress.NONE));
        assertTrue(e.getMessage().contains("HF_HUB_OFFLINE") && e.getMessage().contains("test-org/sharded"), e.getMessage());
        assertEquals(List.of(), hub.log(), "offline: not a single request");
    }

    @Test
    void revisionsResolveToTheirCommitsAndShareUnchangedBlobs() throws IOException {
        Path main = get("test-org/tiny", null);
        hub.clearLog();
        Path v2 = get("test-org/tiny", "v2");
        assertEquals(cacheDir.resolve("models--test-org--tiny/snapshots/" + C2), v2);
        assertEquals(C2, Files.readString(cacheDir.resolve("models--test-org--tiny/refs/v2")));
        assertArrayEquals(tinyV2.get("model.safetensors"), Files.readAllBytes(v2.resolve("model.safetensors")));
        assertEquals(main.resolve("config.json").toRealPath(), v2.resolve("config.json").toRealPath(), "one blob");
        assertTrue(hub.log().stream().noneMatch(l -> l.contains("/config.json")), "the unchanged file is not fetched");
        assertEquals(v2, get("test-org/tiny", C2), "a commit hash names the same snapshot");
    }

    @Test
    void shardedSafetensorsAndBinOnlyRepositories() {
        Path s = get("test-org/sharded", null);
        assertTrue(Files.isRegularFile(s.resolve("model.safetensors.index.json")));
        try (Checkpoint c = Checkpoint.open(s)) {
            assertTrue(c.tensorNames().size() > 10);
            assertTrue(files(s).stream().filter(f -> f.startsWith("model-0")).count() > 1, "several shards");
        }
        Path b = get("test-org/bin-only", null);
        assertEquals(Set.of("config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin",
                "pytorch_model-00002-of-00002.bin"), files(b));
        try (Checkpoint c = Checkpoint.open(b); Checkpoint ref = Checkpoint.open(Reference.file("formats/torch/sharded"))) {
            for (String n : ref.tensorNames()) assertArrayEquals(ref.read(n).data(), c.read(n).data(), n);
        }
    }

    @Test
    void includeGlobsChooseTheFiles() {
        Path dir = client(null, false).snapshot("test-org/tiny", null, List.of("*.json", "original/*"), DownloadProgress.NONE);
        assertEquals(Set.of("config.json", "generation_config.json", "tokenizer.json", "original/params.json"), files(dir));
    }

    @Test
    void gatedRepositoriesNeedTheToken() {
        HubException e = assertThrows(HubException.class, () -> get("test-org/gated", null));
        assertTrue(e.getMessage().contains("gated") && e.getMessage().contains("HF_TOKEN"), e.getMessage());
        e = assertThrows(HubException.class,
                () -> client("wrong", false).snapshot("test-org/gated", null, null, DownloadProgress.NONE));
        assertTrue(e.getMessage().contains("refused the token"), e.getMessage());
        hub.clearLog();
        Path dir = client(FakeHub.TOKEN, false).snapshot("test-org/gated", null, null, DownloadProgress.NONE);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        assertTrue(hub.log().stream().filter(l -> l.contains("/resolve/") || l.contains("/api/")).allMatch(l -> l.endsWith("auth")));
        assertTrue(hub.log().stream().filter(l -> l.contains("/cdn/")).noneMatch(l -> l.endsWith("auth")),
                "the token never leaves the Hub's host for the CDN: " + hub.log());
    }

    @Test
    void missingRepositoriesRevisionsAndBadIdsAreNamed() {
        HubException e = assertThrows(HubException.class, () -> get("test-org/nope", null));
        assertTrue(e.getMessage().contains("test-org/nope") && e.getMessage().contains("no such model repository"),
                e.getMessage());
        e = assertThrows(HubException.class, () -> get("test-org/tiny", "v9"));
        assertTrue(e.getMessage().contains("test-org/tiny@v9") && e.getMessage().contains("no such revision"), e.getMessage());
        assertThrows(HubException.class, () -> get("../etc", null));
        assertThrows(HubException.class, () -> get("test-org/tiny", "../../x"));
        assertFalse(Hub.isRepoId("a/b/c"));
        assertFalse(Hub.isRepoId("./tiny"));
        assertTrue(Hub.isRepoId("HuggingFaceTB/SmolLM-135M"));
    }

    @Test
    void aRenamedRepositoryIsFollowed() {
        Path dir = get("old-org/tiny", null);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
    }

    @Test
    void anInterruptedDownloadResumesWithARangeRequest() throws IOException {
        hub.cut("model.safetensors", 3000, 1);
        hub.clearLog();
        Path dir;
        try {
            dir = get("test-org/tiny", null);
        } finally {
            hub.clearFaults();
        }
        assertArrayEquals(tiny.get("model.safetensors"), Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(hub.log().stream().anyMatch(l -> l.startsWith("GET /cdn/") && l.contains("Range=bytes=3000-")),
                "resumed from byte 3000: " + hub.log());

        // A partial file left by an earlier run is resumed too, not fetched again.
        Path other = cacheDir.resolve("other");
        HfCache c = new HfCache(other);
        String sha = FakeHub.sha256(tinyV2.get("model.safetensors"));
        Files.createDirectories(c.blob("test-org/tiny", sha).getParent());
        Files.write(c.incomplete("test-org/tiny", sha), java.util.Arrays.copyOf(tinyV2.get("model.safetensors"), 1234));
        hub.clearLog();
        Path v2 = new Hub(new Hub.Settings(hub.endpoint(), null, false, c), new PrintStream(PrintStream.nullOutputStream()))
                .snapshot("test-org/tiny", "v2", null, DownloadProgress.NONE);
        assertArrayEquals(tinyV2.get("model.safetensors"), Files.readAllBytes(v2.resolve("model.safetensors")));
        assertTrue(hub.log().stream().anyMatch(l -> l.contains("Range=bytes=1234-")), hub.log().toString());
        assertFalse(Files.exists(c.incomplete("test-org/tiny", sha)));
    }

    @Test
    void aCorruptDownloadIsRefusedAndLeavesNothingBehind() throws IOException {
        hub.corrupt("model.safetensors");
        try {
            HubException e = assertThrows(HubException.class, () -> get("test-org/tiny", null));
            assertTrue(e.getMessage().contains("sha256") && e.getMessage().contains("model.safetensors")
                    && e.getMessage().contains("deleted"), e.getMessage());
            Path repo = cacheDir.resolve("models--test-org--tiny");
            assertFalse(Files.exists(repo.resolve("snapshots/" + C1 + "/model.safetensors")));
            assertFalse(Files.exists(repo.resolve("refs/main")), "no ref to an incomplete snapshot");
            try (Stream<Path> s = Files.list(repo.resolve("blobs"))) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(FakeHub.sha256(tiny.get("model.safetensors")))));
            }
        } finally {
            hub.clearFaults();
        }
        Path dir = get("test-org/tiny", null);
        assertArrayEquals(tiny.get("model.safetensors"), Files.readAllBytes(dir.resolve("model.safetensors")),
                "once the Hub serves the right bytes, the same call succeeds");
    }

    @Test
    void aTruncatedFileIsNeverLinkedAndResumesOnceTheHubServesItWhole() throws IOException {
        hub.truncate("model.safetensors", 5000);
        Path repo = cacheDir.resolve("models--test-org--tiny");
        String sha = FakeHub.sha256(tiny.get("model.safetensors"));
        try {
            HubException e = assertThrows(HubException.class, () -> get("test-org/tiny", null));
            assertTrue(e.getMessage().contains("interrupted at 5000 of " + tiny.get("model.safetensors").length)
                    && e.getMessage().contains("resume"), e.getMessage());
            assertFalse(Files.exists(repo.resolve("snapshots/" + C1 + "/model.safetensors")));
            assertFalse(Files.exists(repo.resolve("blobs/" + sha)), "no blob from a short file");
            assertFalse(Files.exists(repo.resolve("refs/main")));
            assertEquals(5000, Files.size(repo.resolve("blobs/" + sha + ".incomplete")), "kept to resume from");
        } finally {
            hub.clearFaults();
        }
        hub.clearLog();
        Path dir = get("test-org/tiny", null);
        assertArrayEquals(tiny.get("model.safetensors"), Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(hub.log().stream().anyMatch(l -> l.contains("Range=bytes=5000-")), hub.log().toString());
    }

    @Test
    void hostileIndexesAndListingsAreRefused() {
        HubException e = assertThrows(HubException.class, () -> get("test-org/bad-index", null));
        assertTrue(e.getMessage().contains("../../evil.safetensors") && e.getMessage().contains("outside"), e.getMessage());
        assertFalse(Files.exists(cacheDir.resolve("models--test-org--bad-index/snapshots/" + C1 + "/model.safetensors.index.json")));
        assertFalse(Files.exists(cacheDir.resolve("evil.safetensors")));
        e = assertThrows(HubException.class, () -> get("test-org/bad-name", null));
        assertTrue(e.getMessage().contains("../outside.json"), e.getMessage());
    }

    @Test
    void settingsComeFromTheEnvironmentAsInHuggingfaceHub(@TempDir Path home) throws IOException {
        Map<String, String> env = new HashMap<>();
        env.put("HF_HOME", home.toString());
        Hub.Settings s = Hub.Settings.fromEnvironment(env);
        assertEquals(URI.create("https://huggingface.co"), s.endpoint());
        assertEquals(home.resolve("hub"), s.cache().root());
        assertEquals(null, s.token());
        assertFalse(s.offline());
        Files.writeString(home.resolve("token"), "hf_from_file\n");
        assertEquals("hf_from_file", Hub.Settings.fromEnvironment(env).token(), "the token file huggingface-cli writes");
        env.put("HF_TOKEN", "hf_env");
        env.put("HF_ENDPOINT", "http://127.0.0.1:9/");
        env.put("HF_HUB_OFFLINE", "1");
        env.put("HF_HUB_CACHE", home.resolve("elsewhere").toString());
        s = Hub.Settings.fromEnvironment(env);
        assertEquals("hf_env", s.token());
        assertEquals(URI.create("http://127.0.0.1:9"), s.endpoint());
        assertTrue(s.offline());
        assertEquals(home.resolve("elsewhere"), s.cache().root());
    }

    @Test
    void theLocatorPrefersLocalFoldersThenTheHub() throws IOException {
        Path local = cacheDir.resolve("work");
        Files.createDirectories(local.resolve("test-org/tiny"));
        ModelLocator loc = new ModelLocator(List.of(local), client(null, false), DownloadProgress.NONE);
        assertEquals(local.resolve("test-org/tiny"), loc.locate("test-org/tiny", null), "a local folder wins");
        assertEquals(cacheDir.resolve("models--test-org--sharded/snapshots/" + C1), loc.locate("test-org/sharded", null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ModelLocator(List.of(local)).locate("test-org/sharded", "main"));
        assertTrue(e.getMessage().contains("mergelab download test-org/sharded"), e.getMessage());
    }

    static Set<String> files(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
