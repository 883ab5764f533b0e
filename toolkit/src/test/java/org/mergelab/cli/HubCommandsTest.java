package org.mergelab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.FakeHub;
import org.mergelab.hub.SharedData;
import org.mergelab.io.Checkpoint;
import org.mergelab.testing.Reference;

/** {@code mergelab download} against the local FakeHub and {@code mergelab import-gguf} on the real stories260K.gguf. */
class HubCommandsTest {
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @Test
    void downloadFetchesIntoTheCacheAndPrintsTheSnapshot(@TempDir Path tmp) throws Exception {
        try (FakeHub hub = new FakeHub()) {
            hub.add(new FakeHub.Repo("test-org/tiny-llama").commit("main", COMMIT,
                    FakeHub.filesOf(Reference.file("hub/tiny-repo"))));
            Map<String, String> env = Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_HUB_CACHE",
                    tmp.resolve("cache").toString(), "HF_HOME", tmp.resolve("home").toString());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int code = new DownloadCommand(env).run(java.util.List.of("test-org/tiny-llama@main"),
                    new PrintStream(out, true, StandardCharsets.UTF_8));
            assertEquals(0, code);
            Path snapshot = tmp.resolve("cache/models--test-org--tiny-llama/snapshots/" + COMMIT);
            String printed = out.toString(StandardCharsets.UTF_8);
            assertTrue(printed.contains("12 tensors") && printed.trim().endsWith(snapshot.toString()), printed);
            try (Checkpoint c = Checkpoint.open(snapshot)) {
                assertEquals(12, c.tensorNames().size());
            }

            out.reset();
            code = new DownloadCommand(env).run(java.util.List.of("test-org/tiny-llama", "--include", "*.md",
                    "--include=original/*"), new PrintStream(out, true, StandardCharsets.UTF_8));
            assertEquals(0, code);
            assertTrue(Files.isRegularFile(snapshot.resolve("README.md")));
            assertTrue(Files.isRegularFile(snapshot.resolve("original/params.json")));

            Map<String, String> offline = Map.of("HF_HUB_OFFLINE", "1", "HF_HUB_CACHE", tmp.resolve("empty").toString(),
                    "HF_HOME", tmp.resolve("home").toString());
            Exception e = assertThrows(Exception.class,
                    () -> new DownloadCommand(offline).run(java.util.List.of("test-org/tiny-llama"), System.out));
            assertTrue(e.getMessage().contains("HF_HUB_OFFLINE"), e.getMessage());
            assertThrows(Args.UsageException.class,
                    () -> new DownloadCommand(env).run(java.util.List.of("not-an-id"), System.out));
        }
    }

    @Test
    void importGgufWritesAFolderAndRefusesToOverwrite(@TempDir Path tmp) {
        Path gguf = SharedData.file("models/stories260K/stories260K.gguf");
        Path out = tmp.resolve("m");
        MainTest.Run r = MainTest.run("import-gguf", gguf.toString(), out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("wrote"), r.out());
        try (Checkpoint c = Checkpoint.open(out)) {
            assertEquals(47, c.tensorNames().size());
        }
        r = MainTest.run("import-gguf", gguf.toString(), out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("already exists"), r.err());
        r = MainTest.run("import-gguf", tmp.resolve("missing.gguf").toString(), tmp.resolve("x").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("missing.gguf"), r.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
