package org.mergelab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.DemoModels;

class MainTest {
    @TempDir
    static Path models;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void importModels() {
        DemoModels.ensure("stories260K", models);
        DemoModels.ensure("stories260K-shakespeare", models);
    }

    @Test
    void misuseExitsWithTwoAndSaysWhy() {
        Run r = run("frobnicate");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("unknown command 'frobnicate'"));
        r = run("compare", models.resolve("stories260K").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("missing model B"), r.err());
        r = run("merge", "x.yml", "out", "--no-such-option");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("unknown option --no-such-option"));
        assertEquals(0, run("--help").exit());
        assertTrue(run("merge", "--help").out().contains("--out-shard-size"));
    }

    @Test
    void compareWritesTheTableAndTheChart(@TempDir Path dir) throws IOException {
        Path csv = dir.resolve("d.csv"), png = dir.resolve("d.png");
        Run r = run("compare", models.resolve("stories260K").toString(),
                models.resolve("stories260K-shakespeare").toString(), "--csv", csv.toString(), "--png", png.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("47 tensors compared"), r.out());
        String header = Files.readAllLines(csv).get(0);
        // The original columns first, in their places; the analysis's later figures after them.
        assertEquals("name,layer,module,shape,numel,cosine,l2,rel_change,norm_a,norm_b,angle_deg,norm_ratio,sign_flip,"
                + "nonfinite_a,nonfinite_b", header);
        assertEquals(48, Files.readAllLines(csv).size());
        assertTrue(Files.size(png) > 10_000);
    }

    @Test
    void badRecipesFailWithTheLineAndLeaveNothingBehind(@TempDir Path dir) throws IOException {
        Path recipe = dir.resolve("bad.yml");
        Files.writeString(recipe, "models:\n  - model: " + models.resolve("stories260K") + "\n"
                + "merge_method: slurp\n");
        Path out = dir.resolve("out");
        Run r = run("merge", recipe.toString(), out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("bad.yml line 3") && r.err().contains("unknown merge method 'slurp'"), r.err());

        Files.writeString(recipe, "models:\n  - model: " + dir.resolve("no-such-model") + "\n"
                + "    parameters:\n      weight: 1\nmerge_method: linear\n");
        r = run("merge", recipe.toString(), out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("line 2") && r.err().contains("no-such-model"), r.err());

        Files.writeString(recipe, "models:\n  - model: x\n   parameters: [\n");
        r = run("merge", recipe.toString(), out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("bad.yml line") && r.err().contains("YAML syntax error"), r.err());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains("out")), "no partial output folder");
        }
    }

    @Test
    void demoWritesTablesChartsAndTheMerge(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("demo");
        Run r = run("demo", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains(out.toString()), "the demo names its folder");
        for (String f : new String[] {"divergence-parents.csv", "divergence-parents-by-layer.csv",
                "divergence-parents.png", "divergence-merged-vs-stories260K.csv",
                "divergence-merged-vs-stories260K-shakespeare.png", "merge-report.csv", "slerp-shakespeare.yml",
                "merged-slerp/model.safetensors", "merged-slerp/config.json", "merged-slerp/tokenizer.json",
                "merged-slerp/mergekit_config.yml", "merged-slerp/README.md"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        // The merge sits between its parents: closer to each than they are to each other.
        double parents = cosine(r.out(), "2. stories260K-shakespeare vs stories260K");
        double toBase = cosine(r.out(), "4. merged-slerp vs stories260K,");
        double toTuned = cosine(r.out(), "4. merged-slerp vs stories260K-shakespeare");
        assertTrue(toBase > parents && toTuned > parents, r.out());
    }

    private static double cosine(String out, String linePrefix) {
        String line = out.lines().filter(l -> l.startsWith(linePrefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no line '" + linePrefix + "' in\n" + out));
        String after = line.substring(line.indexOf("cosine ") + 7);
        return Double.parseDouble(after.substring(0, after.indexOf(',')));
    }
}
