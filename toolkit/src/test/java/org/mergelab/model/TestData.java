package org.mergelab.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.mergelab.hub.DemoModels;
import org.mergelab.hub.SharedData;
import org.mergelab.io.Llama2cImporter;
import org.mergelab.testing.Reference;

/**
 * What the model tests read: the stories260K family and llama2xs imported once per test JVM into a temporary model
 * home, the tiny folders and JSON references under reference/forward, and loaded models (cached: loading is the
 * slow part of small tests).
 */
public final class TestData {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path home;
    private static final Map<String, Model> MODELS = new HashMap<>();

    private TestData() {}

    public static synchronized Path home() {
        if (home == null) {
            try {
                home = Files.createTempDirectory("mergelab-model-tests");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            home.toFile().deleteOnExit();
        }
        return home;
    }

    /** A stories260K-family folder, or llama2xs. */
    public static synchronized Path folder(String name) {
        if (name.equals("llama2xs")) {
            Path out = home().resolve(name);
            if (Files.isDirectory(out)) return out;
            try {
                return Llama2cImporter.importModel(SharedData.file("models/llama2xs/model.bin"),
                        SharedData.file(DemoModels.TOKENIZER), out, false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return DemoModels.ensure(name, home());
    }

    /** A tiny reference folder: llama3, qwen2, qwen3 or mistral. */
    public static Path tiny(String name) {
        return Reference.file("forward/tiny/" + name);
    }

    /** A loaded model by reference name ("stories260K", "tiny-qwen2"), loaded once. */
    public static synchronized Model model(String name) {
        return MODELS.computeIfAbsent(name, n -> Model.load(n.startsWith("tiny-") ? tiny(n.substring(5)) : folder(n)));
    }

    public static JsonNode json(String relative) {
        try {
            return JSON.readTree(Reference.file(relative).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    /** A held-out text's first {@code bytes} bytes, as the model cards read it. */
    public static String text(String datasetPath, int bytes) {
        return Perplexity.readText(SharedData.file("datasets/" + datasetPath), bytes);
    }
}
