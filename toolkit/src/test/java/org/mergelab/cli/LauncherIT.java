package org.mergelab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * bin/mergelab as a user runs it, on the jar this build just packaged: the first run of a command saves a class-data
 * archive, later runs map it, and either way the command prints the same thing and nothing about the archive.
 */
class LauncherIT {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private record Run(int exit, String stdout, String stderr) {}

    private static Run mergelab(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("bin/mergelab").toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("mergelab-out", ".txt"), err = Files.createTempFile("mergelab-err", ".txt");
        try {
            Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectOutput(out.toFile())
                    .redirectError(err.toFile()).start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "bin/mergelab " + String.join(" ", args) + " timed out");
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Whether this JDK can save a dynamic class-data archive at all. */
    private static boolean canSaveArchives() throws IOException, InterruptedException {
        Path probe = Files.createTempDirectory("cds-probe").resolve("probe.jsa");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:ArchiveClassesAtExit=" + probe, "-Xlog:cds=off", "-Xlog:cds+dynamic=off", "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        p.waitFor(60, TimeUnit.SECONDS);
        boolean saved = Files.exists(probe);
        Files.deleteIfExists(probe);
        Files.deleteIfExists(probe.getParent());
        return saved;
    }

    @Test
    void theFirstRunOfACommandSavesAClassArchiveThatLaterRunsUseWithTheSameOutput() throws Exception {
        Path models = ROOT.resolve("toolkit/src/test/resources/reference/tiny/models");
        String a = models.resolve("llama-a").toString(), b = models.resolve("llama-b").toString();
        Path archive = ROOT.resolve("toolkit/target/cds/compare.jsa");
        Files.deleteIfExists(archive);

        Run help = mergelab("compare", "--help");
        assertEquals(0, help.exit(), help.stderr());
        assertFalse(Files.exists(archive), "a --help run is too short to be worth an archive");

        Run first = mergelab("compare", a, b);
        assertEquals(0, first.exit(), first.stderr());
        if (!Files.exists(archive)) {
            // A JDK shipped without its base class-data archive cannot save a dynamic one: then bin/mergelab runs
            // without, which is what the rest of this test checks.
            assertFalse(canSaveArchives(), "this JVM saves class-data archives, yet the first run saved none");
        } else {
            assertTrue(Files.size(archive) > 0, "the first run saved " + archive);
        }
        try (var partial = Files.list(archive.getParent())) {
            assertTrue(partial.noneMatch(p -> p.toString().endsWith(".partial")), "no partial archive left behind");
        }

        Run second = mergelab("compare", a, b);
        assertEquals(0, second.exit(), second.stderr());
        assertEquals(first.stdout(), second.stdout());
        assertTrue(first.stdout().contains("model.layers.0"), first.stdout());
        for (Run r : List.of(first, second)) {
            assertFalse((r.stdout() + r.stderr()).toLowerCase().contains("cds"), "no archive messages: " + r);
        }

        Run failed = mergelab("compare", a, models.resolve("no-such-model").toString());
        assertTrue(failed.exit() != 0, "a failing command still fails through the launcher");
    }
}
