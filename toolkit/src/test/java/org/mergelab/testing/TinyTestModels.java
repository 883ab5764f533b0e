package org.mergelab.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import org.mergelab.hub.TestModels;
import org.mergelab.io.DType;

/**
 * A scaled-down TinyLlama-shaped test model (2 layers, hidden 32, vocab 50), written by {@link TestModels} in either
 * format. {@code main(OUT_DIR)} writes the fixtures make_bin_interop_reference.py hands to torch and transformers:
 * OUT_DIR/safetensors, OUT_DIR/bin (sharded) and OUT_DIR/bin-single.
 */
public final class TinyTestModels {
    private TinyTestModels() {}

    public static TestModels.Spec tinyLlama(long maxShardBytes) {
        ObjectNode cfg = TestModels.spec("TinyLlama-1.1B").config().deepCopy();
        cfg.put("hidden_size", 32).put("intermediate_size", 48).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", 50)
                .put("max_position_embeddings", 64);
        return new TestModels.Spec("tiny-llama", "TinyLlama/TinyLlama-1.1B-Chat-v1.0 (scaled down)", cfg, maxShardBytes);
    }

    /** The three folders, all from seed 5 in bfloat16. */
    public static void writeAll(Path out) throws IOException {
        TestModels.write(tinyLlama(20_000), out.resolve("safetensors"), DType.BF16, 5, 0, 0);
        TestModels.write(tinyLlama(20_000), out.resolve("bin"), DType.BF16, 5, 0, 0, TestModels.Format.BIN);
        TestModels.write(tinyLlama(1L << 30), out.resolve("bin-single"), DType.BF16, 5, 0, 0, TestModels.Format.BIN);
    }

    public static void main(String[] args) throws IOException {
        writeAll(Path.of(args[0]));
    }
}
