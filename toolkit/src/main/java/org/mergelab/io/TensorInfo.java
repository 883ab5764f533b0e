package org.mergelab.io;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where one tensor lives: its file, dtype, shape and byte range inside the file's data region.
 *
 * @param begin offset of the first byte, relative to the start of the data region
 * @param end   offset one past the last byte, relative to the start of the data region
 */
public record TensorInfo(String name, Path file, DType dtype, long[] shape, long begin, long end) {

    public long numel() {
        return numel(shape);
    }

    public long byteSize() {
        return end - begin;
    }

    public int rank() {
        return shape.length;
    }

    public String shapeString() {
        return shapeString(shape);
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** "[512, 64]", the way torch prints a shape. */
    public static String shapeString(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        return sb.append(']').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && file.equals(t.file) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shapeString();
    }
}
