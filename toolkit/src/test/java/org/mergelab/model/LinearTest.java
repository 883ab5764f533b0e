package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Linear layers against {@code x W^T + b} computed here in double: decoding's sgemv per column slice and prefill's
 * sgemm per row slice, with the row and column counts that split unevenly over the threads.
 */
class LinearTest {
    @ParameterizedTest(name = "{0} rows")
    @ValueSource(ints = {1, 3, 4, 37, 128})
    void severalLayersOnOneInputMatchTheDefinition(int rows) {
        Random r = new Random(rows);
        int in = 96;
        int[] outs = {160, 72, 72}; // a q/k/v-like group: the column slices cross layer boundaries
        Linear[] layers = new Linear[outs.length];
        float[][] w = new float[outs.length][], b = new float[outs.length][];
        for (int k = 0; k < outs.length; k++) {
            w[k] = gaussian(r, outs[k] * in);
            b[k] = k == 1 ? gaussian(r, outs[k]) : null;
            layers[k] = Linear.fromCheckpointLayout("layer" + k, w[k], outs[k], in, b[k]);
        }
        float[] x = gaussian(r, rows * in);
        float[][] ys = new float[outs.length][];
        for (int k = 0; k < outs.length; k++) ys[k] = new float[rows * outs[k]];
        Linear.forwardMany(x, rows, layers, ys);
        for (int k = 0; k < outs.length; k++) {
            for (int t = 0; t < rows; t++) {
                for (int o = 0; o < outs[k]; o++) {
                    double want = b[k] == null ? 0 : b[k][o];
                    for (int i = 0; i < in; i++) want += (double) x[t * in + i] * w[k][o * in + i];
                    assertEquals(want, ys[k][t * outs[k] + o], 1e-4, "layer " + k + ", row " + t + ", column " + o);
                }
            }
        }
    }

    private static float[] gaussian(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
