package org.mergelab.io;

import java.util.Arrays;

/** A float32 tensor in memory: the form every merge and analysis computes on. */
public final class Tensor {
    private final String name;
    private final long[] shape;
    private final float[] data;

    public Tensor(String name, long[] shape, float[] data) {
        long n = TensorInfo.numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException(name + ": shape " + TensorInfo.shapeString(shape)
                    + " holds " + n + " elements but the data has " + data.length);
        }
        this.name = name;
        this.shape = shape.clone();
        this.data = data;
    }

    public String name() { return name; }

    public long[] shape() { return shape.clone(); }

    public float[] data() { return data; }

    public int numel() { return data.length; }

    public int rank() { return shape.length; }

    public long dim(int i) { return shape[i]; }

    public Tensor withName(String newName) {
        return new Tensor(newName, shape, data);
    }

    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    public String shapeString() {
        return TensorInfo.shapeString(shape);
    }

    @Override
    public String toString() {
        return "Tensor[" + name + " " + shapeString() + "]";
    }
}
