package org.mergelab.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.merge.Correction;
import org.mergelab.testing.Reference;

/** {@code mergelab merge --random-seed N} reproduces a DARE merge across thread counts; {@code --correct} parses. */
class MergeRandomSeedCliTest {
    @Test
    void seedAndCorrectionOptions(@TempDir Path dir) throws IOException {
        Path models = Reference.file("tiny/models").toAbsolutePath();
        Path recipe = Files.writeString(dir.resolve("dare.yml"), """
                models:
                  - model: %s/llama-a
                    parameters: {weight: 0.5, density: 0.4}
                  - model: %s/llama-b
                    parameters: {weight: 0.5, density: 0.4}
                merge_method: dare_linear
                base_model: %s/llama-base
                """.formatted(models, models, models));
        MainTest.Run a = MainTest.run("merge", recipe.toString(), dir.resolve("a").toString(), "--quiet",
                "--random-seed", "17", "--threads", "1");
        assertEquals(0, a.exit(), a.err());
        assertTrue(a.out().contains("random seed 17"), a.out());
        MainTest.Run b = MainTest.run("merge", recipe.toString(), dir.resolve("b").toString(), "--quiet",
                "--random-seed", "17", "--threads", "3", "--correct", "rescale-by-probability");
        assertEquals(0, b.exit(), b.err());
        MainTest.Run c = MainTest.run("merge", recipe.toString(), dir.resolve("c").toString(), "--quiet",
                "--random-seed", "17", "--threads", "3");
        assertArrayEquals(Files.readAllBytes(dir.resolve("a/model.safetensors")),
                Files.readAllBytes(dir.resolve("c/model.safetensors")), "same seed, other thread count");
        assertTrue(!java.util.Arrays.equals(Files.readAllBytes(dir.resolve("a/model.safetensors")),
                Files.readAllBytes(dir.resolve("b/model.safetensors"))), "the correction changes the rescaling");

        MainTest.Run bad = MainTest.run("merge", recipe.toString(), dir.resolve("d").toString(), "--correct", "nope");
        assertTrue(bad.exit() != 0 && bad.err().contains("unknown correction 'nope'"), bad.err());
        MainTest.Run seed = MainTest.run("merge", recipe.toString(), dir.resolve("e").toString(), "--random-seed", "x");
        assertTrue(seed.exit() != 0 && seed.err().contains("--random-seed"), seed.err());
        String help = MainTest.run("merge", "--help").out();
        assertTrue(help.contains("--random-seed N"), help);
        for (Correction k : Correction.values()) assertTrue(help.contains(k.cliName()), help);
    }
}
