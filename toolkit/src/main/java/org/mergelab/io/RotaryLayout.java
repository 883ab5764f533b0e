package org.mergelab.io;

/**
 * Row orders of the query and key projections. llama2.c (like Meta's original code) rotates interleaved pairs
 * (x[2i], x[2i+1]) of each head; transformers rotates halves (x[i], x[i + d/2]). The same model in transformers
 * therefore needs each head's rows reordered: row 2i+j of a head moves to row j*d/2 + i.
 */
public final class RotaryLayout {
    private RotaryLayout() {}

    /** Interleaved-pair rows to rotate-half rows; {@code w} is [heads*headDim, cols] row-major. */
    public static float[] interleavedToHalves(float[] w, int heads, int cols) {
        return permute(w, heads, cols, true);
    }

    /** Rotate-half rows back to interleaved pairs: the inverse of {@link #interleavedToHalves}. */
    public static float[] halvesToInterleaved(float[] w, int heads, int cols) {
        return permute(w, heads, cols, false);
    }

    private static float[] permute(float[] w, int heads, int cols, boolean toHalves) {
        int rows = w.length / cols;
        if (rows * cols != w.length || rows % heads != 0 || (rows / heads) % 2 != 0) {
            throw new IllegalArgumentException("cannot permute " + rows + "x" + cols + " rows over " + heads + " heads");
        }
        int headDim = rows / heads, half = headDim / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    int interleaved = h * headDim + 2 * i + j;
                    int halves = h * headDim + j * half + i;
                    int from = toHalves ? interleaved : halves;
                    int to = toHalves ? halves : interleaved;
                    System.arraycopy(w, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }
}
