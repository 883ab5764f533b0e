package org.mergelab.merge;

/**
 * A tensor seen as a set of equal-length vectors: the whole tensor as one vector, each slice along its last axis
 * (the rows of a matrix), or each slice along its first axis (the columns of a matrix). Element {@code i} of vector
 * {@code v} is at {@code v·step + i·stride} (for first-axis vectors of a tensor with more than two axes, {@code v}
 * runs over the trailing positions).
 */
record Lanes(int count, int length, int step, int stride) {
    static Lanes whole(int numel) {
        return new Lanes(1, numel, 0, 1);
    }

    /** Vectors along the last axis; a 1-D tensor is one vector. */
    static Lanes lastAxis(long[] shape, int numel) {
        int len = shape.length == 0 ? 1 : (int) shape[shape.length - 1];
        return len == 0 ? new Lanes(0, 0, 0, 1) : new Lanes(numel / len, len, len, 1);
    }

    /** Vectors along the first axis; a 1-D tensor is one vector. */
    static Lanes firstAxis(long[] shape, int numel) {
        int len = shape.length == 0 ? 1 : (int) shape[0];
        return len == 0 ? new Lanes(0, 0, 0, 1) : new Lanes(numel / len, len, 1, numel / len);
    }

    int at(int vector, int i) {
        return vector * step + i * stride;
    }

    /** {@code ‖x‖} of one vector in torch's order ({@link TorchReductions}), rounded to {@code p}. */
    float norm(float[] x, int vector, Precision p) {
        int off = at(vector, 0);
        return p.r(stride == 1 ? TorchReductions.norm(x, off, length) : TorchReductions.normStrided(x, off, length, stride));
    }

    /** torch's {@code (x * y).sum(-1)}: products rounded to {@code p}, summed in torch's order, rounded. */
    float dot(float[] x, float[] y, int vector, Precision p) {
        float[] prod = new float[length];
        for (int i = 0; i < length; i++) {
            int j = at(vector, i);
            prod[i] = p.r(x[j] * y[j]);
        }
        return p.r(stride == 1 ? TorchReductions.sum(prod, 0, length)
                : TorchReductions.sumStrided(prod, 0, length, 1, vector, count));
    }

    /** {@code torch.dot(x, y)}: the products are not rounded (accumulated in double here), the result is. */
    float innerProduct(float[] x, float[] y, int vector, Precision p) {
        double s = 0;
        for (int i = 0; i < length; i++) {
            int j = at(vector, i);
            s += (double) x[j] * y[j];
        }
        return p.r(s);
    }
}
