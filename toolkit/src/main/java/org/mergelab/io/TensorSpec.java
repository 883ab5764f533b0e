package org.mergelab.io;

/** A tensor to be written: its name, storage dtype and shape, known before any data exists. */
public record TensorSpec(String name, DType dtype, long[] shape) {
    public long numel() {
        return TensorInfo.numel(shape);
    }

    public long byteSize() {
        return numel() * dtype.size();
    }
}
