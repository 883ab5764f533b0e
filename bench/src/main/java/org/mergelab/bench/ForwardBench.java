package org.mergelab.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.mergelab.hub.DemoModels;
import org.mergelab.hub.TestModels;
import org.mergelab.io.DType;
import org.mergelab.model.KvCache;
import org.mergelab.model.Model;
import org.mergelab.model.ModelConfig;
import org.mergelab.model.Transformer;

/**
 * Prefill and decode tokens per second of MergeLab's forward pass on a SmolLM-135M-shaped model (random weights,
 * float32) and on stories260K, against Jlama on the same folders in the same JVM, rounds interleaved so that load
 * from other processes hits both alike; and prefill's arithmetic rate against the machine's own sgemm on the same
 * matrix shapes (OpenBLAS, every core), the ceiling any prefill could reach.
 */
final class ForwardBench implements Main.Benchmark {
    @Override
    public String summary() {
        return "[--models DIR] [--prompt N] [--decode N] [--rounds R] [--only NAME]: prefill/decode tokens/s vs Jlama"
                + " and vs the machine's sgemm";
    }

    @Override
    public void run(String[] args) throws Exception {
        Map<String, String> opt = Harness.options(args);
        Path models = Path.of(opt.getOrDefault("models", System.getProperty("java.io.tmpdir") + "/mergelab-bench-models"));
        int promptLen = Integer.parseInt(opt.getOrDefault("prompt", "128"));
        int decode = Integer.parseInt(opt.getOrDefault("decode", "32"));
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "5"));
        Path jlamaLib = Path.of(System.getProperty("mergelab.home", "."), "bench", "target", "jlama-lib");
        Optional<String> jlamaMissing = JlamaBaseline.unavailable(jlamaLib);
        jlamaMissing.ifPresent(why -> System.out.println("# jlama: not run: " + why));
        System.out.println("# threads: " + Runtime.getRuntime().availableProcessors() + "; prompt " + promptLen
                + " tokens, " + decode + " decoded tokens; " + rounds + " interleaved rounds after 4 s of warm-up");

        Map<String, Path> folders = new LinkedHashMap<>();
        folders.put("smollm135m", smolLm(models));
        folders.put("stories260k", DemoModels.ensure("stories260K", models));
        for (Map.Entry<String, Path> e : folders.entrySet()) {
            if (opt.containsKey("only") && !opt.get("only").equals(e.getKey())) continue;
            benchModel(e.getKey(), e.getValue(), promptLen, decode, rounds, jlamaMissing.isEmpty() ? jlamaLib : null);
        }
    }

    private void benchModel(String name, Path dir, int promptLen, int decode, int rounds, Path jlamaLib)
            throws Exception {
        long anonBefore = rssAnonKb();
        Model ours = Model.load(dir);
        ModelConfig c = ours.config();
        System.out.printf("# %s: loading MergeLab's model added %.1f MB of private memory (RssAnon; weights %.1f MB"
                + " as float32)%n", name, (rssAnonKb() - anonBefore) / 1024.0, 4.0 * (layerWeights(c)
                + (double) c.hiddenSize() * c.vocabSize() * (c.tieWordEmbeddings() ? 1 : 2)) / 1e6);
        int p = Math.min(promptLen, c.maxPositions() - decode - 1);
        int[] prompt = new int[p];
        for (int i = 0; i < p; i++) prompt[i] = 3 + (int) ((i * 7919L) % (c.vocabSize() - 3));
        System.out.println("# " + name + ": " + c + "; prompt " + p + " tokens");
        JlamaBaseline jlama = null;
        if (jlamaLib != null) {
            try {
                jlama = JlamaBaseline.load(jlamaLib, dir);
                Object kv = jlama.newSequence();
                jlama.prefill(kv, prompt);
                jlama.endSequence(kv);
            } catch (Throwable t) {
                Throwable root = t;
                while (root.getCause() != null) root = root.getCause();
                System.out.println("# jlama on " + name + ": fails: " + root);
                jlama = null;
            }
        }
        // Warm-up: rounds until both have run for a few seconds (the JIT compiles the hot loops of each).
        long warmUntil = System.nanoTime() + 4_000_000_000L;
        do {
            runOurs(ours.transformer(), prompt, decode);
            if (jlama != null) runJlama(jlama, prompt, decode);
        } while (System.nanoTime() < warmUntil);
        List<double[]> oursRuns = new ArrayList<>(), jlamaRuns = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            oursRuns.add(runOurs(ours.transformer(), prompt, decode));
            if (jlama != null) jlamaRuns.add(runJlama(jlama, prompt, decode));
        }
        Harness.Report report = new Harness.Report();
        Harness.Figure op = report.add(Harness.figure("forward." + name + ".prefill.mergelab", "tokens/s", column(oursRuns, 0)));
        Harness.Figure od = report.add(Harness.figure("forward." + name + ".decode.mergelab", "tokens/s", column(oursRuns, 1)));
        if (!jlamaRuns.isEmpty()) {
            Harness.Figure jp = report.add(Harness.figure("forward." + name + ".prefill.jlama", "tokens/s", column(jlamaRuns, 0)));
            Harness.Figure jd = report.add(Harness.figure("forward." + name + ".decode.jlama", "tokens/s", column(jlamaRuns, 1)));
            report.add(Harness.ratio("forward." + name + ".prefill.mergelab_over_jlama", op, jp));
            report.add(Harness.ratio("forward." + name + ".decode.mergelab_over_jlama", od, jd));
        }
        // prefill's multiply-adds: every layer's weights once per prompt token, the head for the last token only
        double flops = 2.0 * p * layerWeights(c) + 2.0 * c.hiddenSize() * c.vocabSize();
        Harness.Figure achieved = report.add(Harness.figure("forward." + name + ".prefill.mergelab_gflops", "GFLOP/s",
                scale(column(oursRuns, 0), flops / p / 1e9)));
        Harness.Figure ceiling = report.add(sgemmCeiling(name, c, p, rounds));
        report.add(Harness.ratio("forward." + name + ".prefill.fraction_of_sgemm", achieved, ceiling));
        report.add(Harness.figure("forward." + name + ".decode.mergelab_weight_GBps", "GB/s",
                scale(column(oursRuns, 1), 4.0 * (layerWeights(c) + (double) c.hiddenSize() * c.vocabSize()) / 1e9)));
        if (jlama != null) jlama.close();
    }

    private static long rssAnonKb() {
        System.gc();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("RssAnon:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException e) {
            // not Linux
        }
        return 0;
    }

    /** Weights of the decoder layers (what every token multiplies by), without embedding and head. */
    private static double layerWeights(ModelConfig c) {
        double h = c.hiddenSize();
        return c.numLayers() * (h * c.qDim() * 2 + h * c.kvDim() * 2 + 3 * h * c.intermediateSize());
    }

    /** {prefill tokens/s, decode tokens/s} of one round of ours. */
    private static double[] runOurs(Transformer t, int[] prompt, int decode) {
        KvCache cache = t.newCache(prompt.length + decode + 1);
        long t0 = System.nanoTime();
        float[] logits = t.logits(cache, prompt);
        long t1 = System.nanoTime();
        int token = argmax(logits);
        for (int i = 0; i < decode; i++) token = argmax(t.logits(cache, token));
        long t2 = System.nanoTime();
        return new double[] {prompt.length / ((t1 - t0) / 1e9), decode / ((t2 - t1) / 1e9)};
    }

    private static double[] runJlama(JlamaBaseline j, int[] prompt, int decode) throws Exception {
        Object kv = j.newSequence();
        try {
            long t0 = System.nanoTime();
            float[] logits = j.prefill(kv, prompt);
            long t1 = System.nanoTime();
            int token = argmax(logits), pos = prompt.length;
            for (int i = 0; i < decode; i++) token = argmax(j.step(kv, token, pos++));
            long t2 = System.nanoTime();
            return new double[] {prompt.length / ((t1 - t0) / 1e9), decode / ((t2 - t1) / 1e9)};
        } finally {
            j.endSequence(kv);
        }
    }

    /**
     * The machine's sgemm rate on exactly prefill's products (each layer's q, k, v, o, gate, up, down for p rows, and
     * the head for one), operands already off-heap, OpenBLAS on every core: what a prefill could reach at best.
     */
    private static Harness.Figure sgemmCeiling(String name, ModelConfig c, int p, int rounds) {
        int h = c.hiddenSize();
        int[][] shapes = {{h, c.qDim()}, {h, c.kvDim()}, {h, c.kvDim()}, {c.qDim(), h}, {h, c.intermediateSize()},
                {h, c.intermediateSize()}, {c.intermediateSize(), h}};
        long maxW = 0;
        for (int[] s : shapes) maxW = Math.max(maxW, (long) s[0] * s[1]);
        maxW = Math.max(maxW, (long) h * c.vocabSize());
        int maxIn = Math.max(h, Math.max(c.qDim(), c.intermediateSize()));
        double flops = 0;
        for (int[] s : shapes) flops += 2.0 * p * s[0] * s[1] * c.numLayers();
        flops += 2.0 * h * c.vocabSize();
        int before = openblas.blas_get_num_threads();
        openblas.blas_set_num_threads(Runtime.getRuntime().availableProcessors());
        try (FloatPointer a = new FloatPointer((long) p * maxIn); FloatPointer w = new FloatPointer(maxW);
             FloatPointer y = new FloatPointer((long) p * Math.max(maxIn, c.vocabSize()))) {
            a.fill(0);
            w.fill(0);
            // One pass over the shapes of a small model takes microseconds: each round repeats it for at least 0.2 s
            // (after 0.5 s of warm-up, OpenBLAS's threads awake), so the ceiling does not depend on timer noise.
            double[] rates = new double[rounds];
            for (int r = -1; r < rounds; r++) {
                long minNanos = r < 0 ? 500_000_000L : 200_000_000L;
                long t0 = System.nanoTime(), elapsed;
                int passes = 0;
                do {
                    for (int l = 0; l < c.numLayers(); l++) {
                        for (int[] s : shapes) {
                            openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans,
                                    p, s[1], s[0], 1f, a, s[0], w, s[1], 0f, y, s[1]);
                        }
                    }
                    openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans, 1,
                            c.vocabSize(), h, 1f, a, h, w, c.vocabSize(), 0f, y, c.vocabSize());
                    passes++;
                    elapsed = System.nanoTime() - t0;
                } while (elapsed < minNanos);
                if (r >= 0) rates[r] = passes * flops / (elapsed / 1e9) / 1e9;
            }
            return Harness.figure("forward." + name + ".sgemm_same_shapes_gflops", "GFLOP/s", rates);
        } finally {
            openblas.blas_set_num_threads(before);
        }
    }

    /** A SmolLM-135M-shaped float32 folder, with a tokenizer.json Jlama insists on (its ids are never used). */
    private static Path smolLm(Path models) throws IOException {
        Path dir = models.resolve("SmolLM-135M-f32");
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            TestModels.write("SmolLM-135M", dir, DType.F32, 1, 0, 0);
        }
        Path tok = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tok)) Files.writeString(tok, syntheticTokenizer(49152));
        return dir;
    }

    /** A byte-level BPE tokenizer.json of {@code size} ids: the 256 byte symbols, then placeholder tokens. */
    static String syntheticTokenizer(int size) {
        StringBuilder vocab = new StringBuilder("\"<|endoftext|>\":0");
        int id = 1;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            if (printable) vocab.append(",\"").append(escape((char) b)).append("\":").append(id++);
        }
        for (int extra = 0; extra < 68; extra++) vocab.append(",\"").append(escape((char) (256 + extra))).append("\":").append(id++);
        while (id < size) vocab.append(",\"tok").append(id).append("\":").append(id++);
        return "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[{\"id\":0,\"content\":"
                + "\"<|endoftext|>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,"
                + "\"special\":true}],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":"
                + "false,\"trim_offsets\":true,\"use_regex\":true},\"post_processor\":null,\"decoder\":{\"type\":"
                + "\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,"
                + "\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":"
                + "false,\"ignore_merges\":false,\"vocab\":{" + vocab + "},\"merges\":[]}}";
    }

    private static String escape(char c) {
        return c == '"' ? "\\\"" : c == '\\' ? "\\\\" : String.valueOf(c);
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    private static double[] column(List<double[]> runs, int k) {
        return runs.stream().mapToDouble(r -> r[k]).toArray();
    }

    private static double[] scale(double[] v, double f) {
        double[] out = v.clone();
        for (int i = 0; i < out.length; i++) out[i] *= f;
        return out;
    }
}
