package org.mergelab.model;

/**
 * A linear layer {@code y = x W^T + b} with W stored as transformers stores it, (out, in), but kept here transposed,
 * (in, out): then every product is a sum of scaled weight rows, a loop the JIT turns into SIMD code, which makes
 * single-token decoding run at memory speed in plain Java (about 3x OpenBLAS's sgemv on the 2-core machine this
 * was measured on). Products over many rows go to BLAS sgemm instead.
 */
final class Linear {
    /** Below this many rows plain Java beats staging the weight for sgemm. */
    static final int GEMM_MIN_ROWS = Integer.getInteger("mergelab.gemmMinRows", 8);
    /** Output columns handled per pass: the partial sums of one pass stay in L1 while the weight streams by. */
    private static final int COLUMNS = 512;

    final String name;
    final int in, out;
    /** (in, out) row-major: the transpose of the checkpoint's (out, in). */
    final float[] wt;
    /** (out), or null. */
    final float[] bias;

    Linear(String name, int in, int out, float[] wt, float[] bias) {
        if (wt.length != in * out) {
            throw new IllegalArgumentException(name + ": " + wt.length + " weights for (" + out + ", " + in + ")");
        }
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException(name + ": bias has " + bias.length + " values, expected " + out);
        }
        this.name = name;
        this.in = in;
        this.out = out;
        this.wt = wt;
        this.bias = bias;
    }

    /** Builds a layer from a weight in the checkpoint's (out, in) layout. */
    static Linear fromCheckpointLayout(String name, float[] w, int out, int in, float[] bias) {
        return new Linear(name, in, out, transpose(w, out, in), bias);
    }

    static float[] transpose(float[] w, int rows, int cols) {
        float[] t = new float[w.length];
        final int B = 64;
        for (int r0 = 0; r0 < rows; r0 += B) {
            int r1 = Math.min(rows, r0 + B);
            for (int c0 = 0; c0 < cols; c0 += B) {
                int c1 = Math.min(cols, c0 + B);
                for (int r = r0; r < r1; r++) {
                    for (int c = c0; c < c1; c++) t[c * rows + r] = w[r * cols + c];
                }
            }
        }
        return t;
    }

    /** y (rows, out) = x (rows, in) W^T + b. */
    void forward(float[] x, int rows, float[] y) {
        if (rows >= GEMM_MIN_ROWS) {
            Blas.matmul(x, rows, in, wt, out, y);
            if (bias != null) addBias(y, rows);
            return;
        }
        Parallel.range(out, 16, (long) rows * in * out, (from, to) -> rowsTimesWeight(x, rows, y, from, to));
    }

    private void addBias(float[] y, int rows) {
        for (int r = 0; r < rows; r++) {
            int o = r * out;
            for (int j = 0; j < out; j++) y[o + j] += bias[j];
        }
    }

    /** Columns [from, to) of y for every row, four weight rows at a time. */
    private void rowsTimesWeight(float[] x, int rows, float[] y, int from, int to) {
        final float[] w = wt;
        final int n = out;
        for (int j0 = from; j0 < to; j0 += COLUMNS) {
            int j1 = Math.min(to, j0 + COLUMNS);
            for (int r = 0; r < rows; r++) {
                int yo = r * n;
                if (bias != null) {
                    System.arraycopy(bias, j0, y, yo + j0, j1 - j0);
                } else {
                    java.util.Arrays.fill(y, yo + j0, yo + j1, 0f);
                }
            }
            int i = 0;
            for (; i + 4 <= in; i += 4) {
                int o0 = i * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
                for (int r = 0; r < rows; r++) {
                    int xo = r * in + i, yo = r * n;
                    float x0 = x[xo], x1 = x[xo + 1], x2 = x[xo + 2], x3 = x[xo + 3];
                    for (int j = j0; j < j1; j++) {
                        y[yo + j] += x0 * w[o0 + j] + x1 * w[o1 + j] + x2 * w[o2 + j] + x3 * w[o3 + j];
                    }
                }
            }
            for (; i < in; i++) {
                int o0 = i * n;
                for (int r = 0; r < rows; r++) {
                    float xi = x[r * in + i];
                    int yo = r * n;
                    for (int j = j0; j < j1; j++) y[yo + j] += xi * w[o0 + j];
                }
            }
        }
    }
}
