package org.mergelab.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.mergelab.hub.ModelLocator;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.Tensor;
import org.mergelab.model.tokenizer.Tokenizer;

/**
 * A language model ready to run: the forward pass with its weights, the tokenizer, and what ends a generation.
 *
 * <pre>{@code
 * Model base = Model.load("stories260K");                         // a folder, or a name under the model home
 * base.generate("Once upon a time", Sampling.greedy(60)).text();
 * Perplexity.of(base, Path.of("valid.txt"), 256).perplexity();
 * }</pre>
 */
public final class Model {
    private final String name;
    private final ModelConfig config;
    private final Transformer transformer;
    private final Tokenizer tokenizer;
    private final List<Integer> stopIds;

    private Model(String name, ModelConfig config, Transformer transformer, Tokenizer tokenizer) {
        this.name = name;
        this.config = config;
        this.transformer = transformer;
        this.tokenizer = tokenizer;
        Set<Integer> stops = new LinkedHashSet<>(config.eosTokenIds());
        if (tokenizer != null) stops.addAll(tokenizer.stopIds());
        this.stopIds = List.copyOf(stops);
    }

    /**
     * Loads a model folder, a folder of that name in the working directory or under the model home, or a Hugging
     * Face Hub id ({@code org/name[@revision]}) from the Hub cache, downloading what is missing.
     */
    public static Model load(String model) {
        Path p = Path.of(model);
        if (!Files.isDirectory(p)) {
            int at = model.lastIndexOf('@');
            String name = at > 0 ? model.substring(0, at) : model, revision = at > 0 ? model.substring(at + 1) : null;
            p = ModelLocator.forRecipe(null).locate(name, revision);
        }
        return load(p);
    }

    /** Loads a Hugging Face folder: config.json, safetensors (any float dtype, held as float32) and tokenizer. */
    public static Model load(Path dir) {
        try (Checkpoint ck = Checkpoint.open(dir)) {
            if (!Files.isRegularFile(ck.dir().resolve("config.json"))) {
                throw new UnsupportedModelException(ck.dir() + " has no config.json");
            }
            Tokenizer tok = Tokenizer.present(ck.dir()) ? Tokenizer.load(ck.dir()) : null;
            return of(ck.name(), ck.config(), WeightSource.of(ck), tok, ck.dir().resolve("config.json").toString());
        }
    }

    /** A model from tensors in memory (an in-memory merge), with the config and tokenizer it should run with. */
    public static Model of(String name, JsonNode config, Map<String, Tensor> tensors, Tokenizer tokenizer) {
        return of(name, config, WeightSource.of(tensors, name), tokenizer, name + " config");
    }

    /** A model from any weight source. {@code tokenizer} may be null (ids only: no text in or out). */
    public static Model of(String name, JsonNode config, WeightSource weights, Tokenizer tokenizer, String where) {
        ModelConfig c = ModelConfig.parse(config, where);
        if (tokenizer != null) checkVocabulary(tokenizer, c);
        return new Model(name, c, WeightLoader.load(c, weights), tokenizer);
    }

    /**
     * A tokenizer may be a little smaller than the embedding (vocabularies padded to a multiple of 64 or 128), never
     * larger, and not so much smaller that it is plainly another model's.
     */
    static void checkVocabulary(Tokenizer tokenizer, ModelConfig c) {
        int t = tokenizer.size(), v = c.vocabSize();
        if (t > v || v - t > Math.max(256, v / 100)) {
            throw new UnsupportedModelException("the tokenizer " + tokenizer.source() + " has " + t
                    + " tokens but the model's vocab_size is " + v + ": they do not belong together");
        }
    }

    public String name() { return name; }

    public ModelConfig config() { return config; }

    public Transformer transformer() { return transformer; }

    /** The model's tokenizer; an error if the folder had none. */
    public Tokenizer tokenizer() {
        if (tokenizer == null) {
            throw new UnsupportedModelException(name + " has no tokenizer (tokenizer.json or tokenizer.model)");
        }
        return tokenizer;
    }

    public boolean hasTokenizer() { return tokenizer != null; }

    /** Ids that end a generation: config.json's and generation_config.json's EOS, and the tokenizer's. */
    public List<Integer> stopIds() { return stopIds; }

    /** The text's ids as the model sees a sequence (BOS first where the tokenizer adds one). */
    public int[] encode(String text) {
        return tokenizer().encode(text, true);
    }

    /** The BOS id the model expects first, or -1 when it expects none (Qwen2). */
    public int bosId() {
        if (tokenizer != null && tokenizer.bosId().isPresent()) return tokenizer.bosId().getAsInt();
        return config.bosTokenId();
    }

    public Generation generate(String prompt, Sampling sampling) {
        return Generator.generate(this, prompt, sampling);
    }

    /** The prompt wrapped in the folder's chat template as one user message (the prompt as is when there is none). */
    public String chatPrompt(String userMessage) {
        return tokenizer().chatTemplate()
                .map(t -> t.render(List.of(org.mergelab.model.tokenizer.ChatTemplate.message("user", userMessage)), true))
                .orElse(userMessage);
    }

    List<Integer> defaultStops() {
        List<Integer> s = new ArrayList<>(stopIds);
        int bos = bosId();
        // llama2.c-style models end a story by starting the next one: BOS ends a generation too.
        if (bos >= 0 && !s.contains(bos)) s.add(bos);
        return s;
    }

    @Override
    public String toString() {
        return name + " (" + config + ")";
    }
}
