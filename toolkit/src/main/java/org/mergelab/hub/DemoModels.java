package org.mergelab.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.mergelab.io.Llama2cImporter;

/**
 * The real models the demo, notebooks and tests merge: karpathy's stories260K and three full fine-tunes of it, read
 * from the data folder in llama2.c format and imported once into Hugging Face folders under the model home.
 */
public final class DemoModels {
    /** Base and fine-tunes, in the order tables list them. */
    public static final List<String> FAMILY = List.of("stories260K", "stories260K-shakespeare", "stories260K-babi",
            "stories260K-fables");
    public static final String TOKENIZER = "models/stories260K/tok512.model";

    private DemoModels() {}

    /** The Hugging Face folder of {@code name} under {@code home}, imported from the data folder if missing. */
    public static synchronized Path ensure(String name, Path home) {
        Path out = home.resolve(name);
        if (Files.isRegularFile(out.resolve("config.json")) && Files.isRegularFile(out.resolve("model.safetensors"))) {
            return out;
        }
        Path bin = SharedData.file("models/" + name + "/" + name + ".bin");
        try {
            return Llama2cImporter.importModel(bin, SharedData.file(TOKENIZER), out, true);
        } catch (IOException e) {
            throw new UncheckedIOException("importing " + bin + " into " + out + ": " + e.getMessage(), e);
        }
    }

    /** {@link #ensure(String, Path)} under the model home. */
    public static Path ensure(String name) {
        return ensure(name, ModelLocator.modelHome());
    }
}
