package org.mergelab.analysis;

import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.Half;
import org.mergelab.io.TensorInfo;

/**
 * One tensor's stored bytes, memory-mapped once, read as float32 a block at a time: analyses stream a tensor through
 * a few kilobytes of buffer instead of widening all of it into a heap array first (for bf16 that array would be
 * twice the size of the data it came from). Reads are absolute, so threads share one source.
 */
final class TensorSource {
    private final String name;
    private final DType dtype;
    private final long numel;
    private final ByteBuffer raw;
    private final ShortBuffer halves;
    private final FloatBuffer floats;
    private final DoubleBuffer doubles;

    private TensorSource(String name, DType dtype, long numel, ByteBuffer raw) {
        this.name = name;
        this.dtype = dtype;
        this.numel = numel;
        this.raw = raw;
        this.halves = dtype == DType.BF16 || dtype == DType.F16 ? raw.asShortBuffer() : null;
        this.floats = dtype == DType.F32 ? raw.asFloatBuffer() : null;
        this.doubles = dtype == DType.F64 ? raw.asDoubleBuffer() : null;
    }

    static TensorSource open(Checkpoint c, String name) {
        TensorInfo info = c.info(name);
        DType d = info.dtype();
        if (d != DType.BF16 && d != DType.F16 && d != DType.F32 && d != DType.F64) {
            throw new IllegalArgumentException("tensor " + name + " in " + c.dir() + " has dtype " + d
                    + ", which cannot be read as floating point");
        }
        return new TensorSource(name, d, info.numel(), c.readRaw(name));
    }

    long numel() {
        return numel;
    }

    String name() {
        return name;
    }

    DType dtype() {
        return dtype;
    }

    /** The stored bytes, little-endian (read with absolute gets only: the buffer is shared). */
    ByteBuffer bytes() {
        return raw;
    }

    /** The stored 16-bit values of elements {@code [from, from + n)} (bf16 or fp16 tensors). */
    void readHalves(long from, short[] dst, int n) {
        halves.get(Math.toIntExact(from), dst, 0, n);
    }

    /** Per-thread scratch for {@link #read}: the raw 16-bit or 64-bit values of one block. */
    static final class Scratch {
        short[] halves = new short[0];
        double[] doubles = new double[0];

        short[] halves(int n) {
            if (halves.length < n) halves = new short[n];
            return halves;
        }

        double[] doubles(int n) {
            if (doubles.length < n) doubles = new double[n];
            return doubles;
        }
    }

    /** Reads elements {@code [from, from + n)} as float32 into {@code dst[0..n)}. */
    void read(long from, float[] dst, int n, Scratch scratch) {
        int at = Math.toIntExact(from);
        switch (dtype) {
            case F32 -> floats.get(at, dst, 0, n);
            case BF16 -> {
                short[] h = scratch.halves(n);
                halves.get(at, h, 0, n);
                for (int i = 0; i < n; i++) dst[i] = Float.intBitsToFloat(h[i] << 16);
            }
            case F16 -> {
                short[] h = scratch.halves(n);
                halves.get(at, h, 0, n);
                for (int i = 0; i < n; i++) dst[i] = Half.fp16ToFloat(h[i]);
            }
            case F64 -> {
                double[] d = scratch.doubles(n);
                doubles.get(at, d, 0, n);
                for (int i = 0; i < n; i++) dst[i] = (float) d[i];
            }
            default -> throw new IllegalStateException(dtype.toString());
        }
    }
}
