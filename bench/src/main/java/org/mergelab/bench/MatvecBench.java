package org.mergelab.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.mergelab.hub.TestModels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The decision behind decoding's matrix-vector products: one token's worth of a model's matrices (every layer's
 * q, k, v, o, gate, up, down and the head, each its own memory, so nothing is served from cache) multiplied by a
 * vector, four ways: ND4J's gemm (as the toolkit's ND4J would be used), a plain-Java loop (vectorized by the JIT,
 * on the transposed layout, 1 and 2 threads), and OpenBLAS sgemv called directly on off-heap weights (OpenBLAS's own
 * 2 threads, and 1-thread sgemv on two column halves from two Java threads, as MergeLab runs it).
 */
final class MatvecBench implements Main.Benchmark {
    @Override
    public String summary() {
        return "[MODEL] [ROUNDS]: one decode token's matrix-vector products: ND4J gemm vs Java vs OpenBLAS sgemv";
    }

    @Override
    public void run(String[] args) throws Exception {
        String name = args.length > 0 ? args[0] : "SmolLM-135M";
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        var c = TestModels.spec(name).config();
        int h = c.get("hidden_size").asInt(), heads = c.get("num_attention_heads").asInt();
        int kv = c.path("num_key_value_heads").asInt(heads), hd = c.has("head_dim") ? c.get("head_dim").asInt() : h / heads;
        int inter = c.get("intermediate_size").asInt(), vocab = c.get("vocab_size").asInt();
        int layers = c.get("num_hidden_layers").asInt();
        List<int[]> shapes = new ArrayList<>(); // (in, out)
        for (int l = 0; l < layers; l++) {
            shapes.add(new int[] {h, heads * hd});
            shapes.add(new int[] {h, kv * hd});
            shapes.add(new int[] {h, kv * hd});
            shapes.add(new int[] {heads * hd, h});
            shapes.add(new int[] {h, inter});
            shapes.add(new int[] {h, inter});
            shapes.add(new int[] {inter, h});
        }
        shapes.add(new int[] {h, vocab});
        long bytes = 0;
        for (int[] s : shapes) bytes += 4L * s[0] * s[1];
        System.out.printf("# %s: %d matrices, %.1f MB of float32 weights per token%n", name, shapes.size(), bytes / 1e6);
        Harness.Report report = new Harness.Report();
        int maxIn = Math.max(h, Math.max(inter, heads * hd)), maxOut = Math.max(vocab, inter);

        Nd4j.getBackend();
        int threadsBefore = openblas.blas_get_num_threads();
        // OpenBLAS sgemv, weights off-heap (in, out), y = W^T x
        List<FloatPointer> off = new ArrayList<>();
        for (int[] s : shapes) off.add(new FloatPointer((long) s[0] * s[1]).fill(1));
        FloatPointer x = new FloatPointer(maxIn).fill(1), y = new FloatPointer(maxOut), y2 = new FloatPointer(maxOut);
        openblas.blas_set_num_threads(2);
        report.add(perToken("matvec.openblas_sgemv_2threads", rounds, bytes, () -> {
            for (int k = 0; k < shapes.size(); k++) {
                int[] s = shapes.get(k);
                openblas.cblas_sgemv(openblas.CblasRowMajor, openblas.CblasTrans, s[0], s[1], 1f, off.get(k), s[1], x, 1,
                        0f, y, 1);
            }
        }));
        openblas.blas_set_num_threads(1);
        ForkJoinPool pool = new ForkJoinPool(1);
        report.add(perToken("matvec.openblas_sgemv_java_split_2x1", rounds, bytes, () -> {
            for (int k = 0; k < shapes.size(); k++) {
                int[] s = shapes.get(k);
                FloatPointer w = off.get(k);
                int half = (s[1] / 2 + 63) / 64 * 64;
                Future<?> f = pool.submit(() -> openblas.cblas_sgemv(openblas.CblasRowMajor, openblas.CblasTrans, s[0],
                        s[1] - half, 1f, new FloatPointer(w).position(half), s[1], x, 1, 0f, y2, 1));
                openblas.cblas_sgemv(openblas.CblasRowMajor, openblas.CblasTrans, s[0], half, 1f, w, s[1], x, 1, 0f, y, 1);
                f.get();
            }
        }));
        off.forEach(FloatPointer::close);

        // plain Java on the heap, transposed layout, four rows per pass
        List<float[]> heap = new ArrayList<>();
        for (int[] s : shapes) {
            float[] w = new float[s[0] * s[1]];
            java.util.Arrays.fill(w, 1f);
            heap.add(w);
        }
        float[] hx = new float[maxIn], hy = new float[maxOut];
        java.util.Arrays.fill(hx, 1f);
        report.add(perToken("matvec.java_1thread", rounds, bytes, () -> {
            for (int k = 0; k < shapes.size(); k++) javaMatvec(heap.get(k), hx, hy, shapes.get(k)[0], shapes.get(k)[1], 0, shapes.get(k)[1]);
        }));
        report.add(perToken("matvec.java_2threads", rounds, bytes, () -> {
            for (int k = 0; k < shapes.size(); k++) {
                int[] s = shapes.get(k);
                float[] w = heap.get(k);
                int half = (s[1] / 2 + 15) / 16 * 16;
                Future<?> f = pool.submit(() -> javaMatvec(w, hx, hy, s[0], s[1], half, s[1]));
                javaMatvec(w, hx, hy, s[0], s[1], 0, half);
                f.get();
            }
        }));
        heap.clear();

        // ND4J gemm on (out, in) arrays with a (in, 1) column, results into a preallocated (out, 1)
        openblas.blas_set_num_threads(threadsBefore);
        List<INDArray> nd = new ArrayList<>();
        for (int[] s : shapes) nd.add(Nd4j.ones(DataType.FLOAT, s[1], s[0]));
        List<INDArray> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int[] s : shapes) {
            xs.add(Nd4j.ones(DataType.FLOAT, s[0], 1));
            ys.add(Nd4j.create(DataType.FLOAT, s[1], 1));
        }
        report.add(perToken("matvec.nd4j_gemm", rounds, bytes, () -> {
            for (int k = 0; k < shapes.size(); k++) Nd4j.gemm(nd.get(k), xs.get(k), ys.get(k), false, false, 1.0, 0.0);
        }));
        pool.shutdown();
    }

    private static Harness.Figure perToken(String name, int rounds, long bytes, Harness.ThrowingRunnable token)
            throws Exception {
        Harness.Figure f = Harness.measure(name + ".ms_per_token", "ms", 2, rounds, () -> Harness.seconds(token) * 1e3);
        System.out.printf("#   %s: %.1f tokens/s, %.1f GB/s of weights%n", name, 1e3 / f.median(), bytes / f.median() / 1e6);
        return f;
    }

    static void javaMatvec(float[] w, float[] x, float[] y, int in, int out, int from, int to) {
        for (int j0 = from; j0 < to; j0 += 4096) {
            int j1 = Math.min(to, j0 + 4096);
            java.util.Arrays.fill(y, j0, j1, 0f);
            for (int i = 0; i + 4 <= in; i += 4) {
                float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
                int o0 = i * out, o1 = o0 + out, o2 = o1 + out, o3 = o2 + out;
                for (int j = j0; j < j1; j++) {
                    y[j] = Math.fma(x3, w[o3 + j], Math.fma(x2, w[o2 + j], Math.fma(x1, w[o1 + j], Math.fma(x0, w[o0 + j], y[j]))));
                }
            }
        }
    }
}
