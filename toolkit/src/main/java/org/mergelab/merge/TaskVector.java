package org.mergelab.merge;

/**
 * A fine-tune's change to its base, {@code δ = x − base}, computed in the working dtype: the quantity the
 * task-arithmetic family, SCE, RAM and (with a base) NuSLERP and Multi-SLERP merge.
 */
final class TaskVector {
    private TaskVector() {}

    static float[] of(float[] x, float[] base, int n, Precision p) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = p.r(x[i] - base[i]);
        return d;
    }

    /** The task vectors of every non-base input, in recipe order. */
    static float[][] ofNonBase(TensorInputs in) {
        int[] others = in.nonBase();
        float[][] d = new float[others.length][];
        for (int k = 0; k < others.length; k++) d[k] = of(in.tensor(others[k]), in.base(), in.numel(), in.precision());
        return d;
    }
}
