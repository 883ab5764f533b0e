package org.mergelab.model;

import org.bytedeco.javacpp.FloatPointer;

/**
 * A linear layer {@code y = x W^T + b}. W is stored as transformers stores it, (out, in), and kept here transposed,
 * (in, out), in float32 outside the Java heap, where BLAS reads it in place: one copy of the weights, no staging.
 * Decoding (a row or a few) is sgemv per slice of output columns, prefill sgemm per slice of rows; the slices are
 * shared out over the cores (see {@link Blas}).
 * <p>
 * Measured on the 2-core machine this was written on ({@code bin/bench decode-matvec}: a SmolLM-135M's matrices for
 * one token, 538 MB): OpenBLAS sgemv on this layout, two Java threads each on half the columns, 23 ms (43 tokens/s);
 * OpenBLAS's own two threads 21 ms; a JIT-vectorized plain-Java loop on the heap 37 ms with two threads, 51 with
 * one; ND4J's gemm 81 ms. The row-major (out, in) layout halves sgemv's speed on a vocabulary-sized head.
 */
final class Linear {
    /** From this many rows on, one sgemm; below, sgemv per row. */
    static final int GEMM_MIN_ROWS = Integer.getInteger("mergelab.gemmMinRows", 4);
    /** Output columns per slice: whole cache lines, enough per row for sgemv to stream. */
    private static final int ALIGN = 64;
    /** Rows per prefill slice: a multiple of sgemm's register blocks. */
    private static final int ROW_ALIGN = 8;

    final String name;
    final int in, out;
    /** (in, out) row-major, off-heap: the transpose of the checkpoint's (out, in). */
    final FloatPointer wt;
    /** The same weights as a buffer view, for reading a few in Java (null past 2^31 elements). */
    private final java.nio.FloatBuffer weights;
    /** (out), or null. */
    final float[] bias;

    private Linear(String name, int in, int out, float[] bias) {
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException(name + ": bias has " + bias.length + " values, expected " + out);
        }
        this.name = name;
        this.in = in;
        this.out = out;
        this.bias = bias;
        this.wt = OffHeap.allocate(this, (long) in * out);
        this.weights = (long) in * out <= Integer.MAX_VALUE ? wt.asBuffer() : null;
    }

    /** A layer from a weight in the checkpoint's (out, in) layout (the array is only read). */
    static Linear fromCheckpointLayout(String name, float[] w, int out, int in, float[] bias) {
        if ((long) w.length != (long) in * out) {
            throw new IllegalArgumentException(name + ": " + w.length + " weights for (" + out + ", " + in + ")");
        }
        Linear l = new Linear(name, in, out, bias);
        float[] row = new float[out];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) row[o] = w[o * in + i];
            l.wt.position((long) i * out).put(row, 0, out);
        }
        l.wt.position(0);
        return l;
    }

    /**
     * Row o of W as the checkpoint stores it, {@code W[o][0..in)}, into {@code dst[at..)}: an embedding row from a tied
     * head. (Through a buffer view: FloatPointer's element get costs a native call each.)
     */
    void column(int o, float[] dst, int at) {
        java.nio.FloatBuffer w = weights;
        for (int i = 0; i < in; i++) dst[at + i] = w != null ? w.get(i * out + o) : wt.get((long) i * out + o);
    }

    /** y (rows, out) = x (rows, in) W^T + b. */
    void forward(float[] x, int rows, float[] y) {
        forwardMany(x, rows, new Linear[] {this}, new float[][] {y});
    }

    /**
     * Several layers applied to the same input ({@code ys[k] = x W_k^T + b_k}): q, k and v; gate and up. Their
     * output columns are pooled and shared out over the cores in one hand-off.
     */
    static void forwardMany(float[] x, int rows, Linear[] layers, float[][] ys) {
        int total = 0;
        long work = 0;
        for (Linear l : layers) {
            total += l.out;
            work += (long) rows * l.in * l.out;
        }
        int in = layers[0].in;
        if (rows >= GEMM_MIN_ROWS) {
            Parallel.range(rows, rowSlice(rows), work / 4, (from, to) -> rowsOf(x, from, to, layers, ys));
            return;
        }
        Parallel.range(total, ALIGN, work, (from, to) -> {
            FloatPointer px = Blas.stage(0, x, rows * in);
            int start = 0;
            for (int k = 0; k < layers.length; k++) {
                Linear l = layers[k];
                int a = Math.max(from, start), b = Math.min(to, start + l.out);
                if (a < b) l.columns(px, rows, ys[k], a - start, b - start);
                start += l.out;
            }
        });
        for (int k = 0; k < layers.length; k++) {
            if (layers[k].bias != null) layers[k].addBias(ys[k], 0, rows);
        }
    }

    /**
     * The rows each thread takes in a prefill of {@code rows}: prefill shares out rows, each slice one sgemm per layer
     * over all its columns (shared columns would leave a layer narrower than two slices, such as a small model's down
     * projection, on one thread), and one slice per thread, since every sgemm call packs the whole weight matrix
     * again. A multiply-add costs about a quarter as much in sgemm (compute-bound) as in sgemv.
     */
    static int rowSlice(int rows) {
        int perThread = (rows + Parallel.THREADS - 1) / Parallel.THREADS;
        return (perThread + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
    }

    /** Rows [from, to) of {@code ys[k] = x W_k^T + b_k}, by sgemm on this thread: one slice of a prefill. */
    static void rowsOf(float[] x, int from, int to, Linear[] layers, float[][] ys) {
        int r = to - from, in = layers[0].in;
        FloatPointer px = Blas.buffer(0, (long) r * in);
        px.put(x, from * in, r * in);
        for (int k = 0; k < layers.length; k++) {
            layers[k].rows(px, r, ys[k], from);
            if (layers[k].bias != null) layers[k].addBias(ys[k], from, to);
        }
    }

    /** Rows [first, first + rows) of y, their x already off-heap. */
    private void rows(FloatPointer px, int rows, float[] y, int first) {
        FloatPointer py = Blas.buffer(1, (long) rows * out);
        Blas.sgemm(rows, out, in, px, 0, in, wt, 0, out, py, 0, out);
        py.get(y, first * out, rows * out);
    }

    /** Columns [j0, j1) of y for every row (decoding: a few rows, sgemv each), x already off-heap. */
    private void columns(FloatPointer px, int rows, float[] y, int j0, int j1) {
        int nb = j1 - j0;
        FloatPointer py = Blas.buffer(1, (long) rows * nb);
        for (int r = 0; r < rows; r++) Blas.sgemvTransposed(in, nb, wt, j0, out, px, (long) r * in, py, (long) r * nb);
        if (nb == out) {
            py.get(y, 0, rows * out);
        } else {
            for (int r = 0; r < rows; r++) py.position((long) r * nb).get(y, r * out + j0, nb);
            py.position(0);
        }
    }

    private void addBias(float[] y, int from, int to) {
        for (int r = from; r < to; r++) {
            int o = r * out;
            for (int j = 0; j < out; j++) y[o + j] += bias[j];
        }
    }
}
