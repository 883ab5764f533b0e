package org.mergelab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.mergelab.hub.SharedData;
import org.mergelab.model.Model;
import org.mergelab.model.Sampling;
import org.mergelab.model.TestData;

/** {@code mergelab generate} and {@code mergelab eval} on real models. */
class GenerateEvalCommandTest {
    private record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void generatePrintsTheContinuation() {
        String model = TestData.folder("stories260K").toString();
        Run r = run("generate", model, "--prompt", "Once upon a time", "--max-new-tokens", "30");
        assertEquals(0, r.exit(), r.err());
        String expected = Model.load(model).generate("Once upon a time", Sampling.greedy(30)).text();
        assertEquals(expected + System.lineSeparator(), r.out());
        assertTrue(expected.startsWith(", there was a little girl"), expected);

        Run a = run("generate", model, "--prompt", "Once", "--max-new-tokens", "25", "--temperature", "0.9",
                "--top-p", "0.95", "--seed", "5");
        Run b = run("generate", model, "--prompt", "Once", "--max-new-tokens", "25", "--temperature", "0.9",
                "--top-p", "0.95", "--seed", "5");
        assertEquals(0, a.exit(), a.err());
        assertEquals(a.out(), b.out(), "seeded sampling repeats");
    }

    @Test
    void evalPrintsPerplexityAndTokenCount() {
        String model = TestData.folder("stories260K").toString();
        String text = SharedData.file("datasets/tinystories_valid_sample/tinystories_val_prefix.txt").toString();
        Run r = run("eval", model, "--text", text, "--window", "256", "--max-bytes", "40000");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("perplexity: 4.1795\n"), r.out());
        assertTrue(r.out().contains("tokens: 19175"), r.out());
    }

    @Test
    void misuseAndBadModelsExitNonZero() {
        String model = TestData.folder("stories260K").toString();
        Run missing = run("generate", model, "--max-new-tokens", "3");
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("--prompt"), missing.err());
        Run seedOnly = run("generate", model, "--prompt", "x", "--seed", "3");
        assertEquals(2, seedOnly.exit());
        Run noModel = run("eval", "/nonexistent/model", "--text", "x.txt");
        assertEquals(1, noModel.exit());
        Run window = run("eval", model, "--text",
                SharedData.file("datasets/splits/fables_eval.txt").toString(), "--window", "4096");
        assertEquals(1, window.exit());
        assertTrue(window.err().contains("context of 512"), window.err());
    }
}
