package org.mergelab.merge;

/**
 * Sums across the model axis ({@code torch.stack(...).sum(dim=0)}) as torch computes them: per element, a float32
 * accumulator starting at 0 adds the models in order, and the total is rounded once to the working dtype. For up to
 * four models this is exactly torch's order (beyond that torch pairs some terms differently; the difference is in
 * the last float32 bit).
 */
final class ModelSum {
    private ModelSum() {}

    static float[] of(float[][] x, int n, Precision p) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float acc = 0f;
            for (float[] row : x) acc += row[i];
            out[i] = p.r(acc);
        }
        return out;
    }

    /** The sum of a few scalars (one per model: {@code torch.sum} of a 1-D tensor), rounded once. */
    static float ofScalars(float[] x, Precision p) {
        return p.r(TorchReductions.sum(x, 0, x.length));
    }
}
