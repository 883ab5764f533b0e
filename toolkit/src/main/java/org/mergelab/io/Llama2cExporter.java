package org.mergelab.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a Hugging Face Llama folder back as a llama2.c v0 checkpoint, so merged models run in llama2.c's
 * {@code run}. The inverse of {@link Llama2cImporter}: q/k rows return to interleaved pairs, and the rotary tables
 * llama2.c expects are recomputed from {@code rope_theta}.
 */
public final class Llama2cExporter {
    private Llama2cExporter() {}

    public static void export(Path hfFolder, Path outBin) throws IOException {
        try (Checkpoint ck = Checkpoint.open(hfFolder)) {
            Llama2cFile.Config c = configOf(ck);
            Path tmp = outBin.resolveSibling("." + outBin.getFileName() + ".partial");
            try (OutputStream os = Files.newOutputStream(tmp)) {
                ByteBuffer h = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
                h.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.nLayers()).putInt(c.nHeads()).putInt(c.nKvHeads())
                        .putInt(c.sharedClassifier() ? c.vocabSize() : -c.vocabSize()).putInt(c.seqLen());
                os.write(h.array());
                for (Llama2cFile.Entry e : Llama2cFile.layout(c)) {
                    writeFloats(os, arrayFor(ck, c, e));
                }
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, outBin, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static Llama2cFile.Config configOf(Checkpoint ck) {
        int dim = ck.configInt("hidden_size", -1);
        int heads = ck.configInt("num_attention_heads", -1);
        int layers = ck.configInt("num_hidden_layers", -1);
        if (dim < 0 || heads < 0 || layers < 0 || !"llama".equals(ck.config().path("model_type").asText())) {
            throw new CheckpointException(ck.dir() + ": only Llama checkpoints (config.json model_type llama) can be"
                    + " exported to llama2.c");
        }
        int kv = ck.configInt("num_key_value_heads", heads);
        int vocab = ck.configInt("vocab_size", -1);
        boolean tied = !ck.has("lm_head.weight");
        return new Llama2cFile.Config(dim, ck.configInt("intermediate_size", -1), layers, heads, kv, vocab,
                ck.configInt("max_position_embeddings", 2048), tied);
    }

    private static float[] arrayFor(Checkpoint ck, Llama2cFile.Config c, Llama2cFile.Entry e) {
        if (e.name().equals("freq_cis_real") || e.name().equals("freq_cis_imag")) {
            double theta = ck.config().path("rope_theta").asDouble(10000.0);
            return rotaryTable(c, theta, e.name().endsWith("real"));
        }
        float[] w = ck.read(Llama2cImporter.hfName(e)).data();
        if (e.name().equals("wq")) w = RotaryLayout.halvesToInterleaved(w, c.nHeads(), c.dim());
        if (e.name().equals("wk")) w = RotaryLayout.halvesToInterleaved(w, c.nKvHeads(), c.dim());
        return w;
    }

    /** cos (or sin) of position * theta^(-2i/headSize), computed in float32 as llama2.c's export does. */
    static float[] rotaryTable(Llama2cFile.Config c, double theta, boolean cos) {
        int half = c.headSize() / 2;
        float[] freqs = new float[half];
        for (int i = 0; i < half; i++) {
            freqs[i] = 1.0f / (float) Math.pow((float) theta, (float) (2 * i) / c.headSize());
        }
        float[] out = new float[c.seqLen() * half];
        for (int p = 0; p < c.seqLen(); p++) {
            for (int i = 0; i < half; i++) {
                float angle = p * freqs[i];
                out[p * half + i] = (float) (cos ? Math.cos(angle) : Math.sin(angle));
            }
        }
        return out;
    }

    private static void writeFloats(OutputStream os, float[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        os.write(b.array());
    }
}
