package org.mergelab.analysis;

import java.nio.ByteBuffer;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.Half;
import org.mergelab.io.ReadBuffer;
import org.mergelab.io.TensorInfo;

/**
 * One tensor of a checkpoint, read a chunk at a time into a buffer the reading thread reuses: analyses stream a
 * tensor through a few megabytes instead of widening all of it into a heap array first (for bf16 that array would be
 * twice the size of the data it came from). They copy each byte once rather than map it: from a warm page cache the
 * two cost about the same (a mapping takes a page fault per 16 pages, then a page-table teardown that Java leaves
 * to the collector), from disk copying is faster, and mappings would fill RssFile. Safe to share between threads.
 */
final class TensorSource {
    private final Checkpoint checkpoint;
    private final String name;
    private final DType dtype;
    private final long numel;

    private TensorSource(Checkpoint checkpoint, String name, DType dtype, long numel) {
        this.checkpoint = checkpoint;
        this.name = name;
        this.dtype = dtype;
        this.numel = numel;
    }

    static TensorSource open(Checkpoint c, String name) {
        TensorInfo info = c.info(name);
        DType d = info.dtype();
        if (d != DType.BF16 && d != DType.F16 && d != DType.F32 && d != DType.F64) {
            throw new IllegalArgumentException("tensor " + name + " in " + c.dir() + " has dtype " + d
                    + ", which cannot be read as floating point");
        }
        return new TensorSource(c, name, d, info.numel());
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

    /**
     * The stored bytes of elements {@code [from, from + n)}, read into a window of {@code into} (element 0 at index
     * 0, little-endian, to be read with absolute gets); valid until the next read into the same buffer.
     */
    ByteBuffer read(long from, int n, ReadBuffer into) {
        return checkpoint.readBytes(name, from * dtype.size(), n * dtype.size(), into);
    }

    /** Per-thread buffers: stored bytes of a chunk, and the 16-bit or 64-bit values of one block. */
    static final class Scratch {
        private final ReadBuffer[] bytes = {new ReadBuffer(), new ReadBuffer()};
        short[] halves = new short[0];
        double[] doubles = new double[0];

        /** Read buffer {@code which} (0 or 1): one for the reference's chunk, one for the model's. */
        ReadBuffer bytes(int which) {
            return bytes[which];
        }

        short[] halves(int n) {
            if (halves.length < n) halves = new short[n];
            return halves;
        }

        double[] doubles(int n) {
            if (doubles.length < n) doubles = new double[n];
            return doubles;
        }
    }

    /** Elements {@code [at, at + n)} of stored bytes {@code b} of {@code dtype}, as float32, into {@code dst[0..n)}. */
    static void toFloats(DType dtype, ByteBuffer b, int at, float[] dst, int n, Scratch scratch) {
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(at, dst, 0, n);
            case BF16 -> {
                short[] h = scratch.halves(n);
                b.asShortBuffer().get(at, h, 0, n);
                for (int i = 0; i < n; i++) dst[i] = Float.intBitsToFloat(h[i] << 16);
            }
            case F16 -> {
                short[] h = scratch.halves(n);
                b.asShortBuffer().get(at, h, 0, n);
                for (int i = 0; i < n; i++) dst[i] = Half.fp16ToFloat(h[i]);
            }
            case F64 -> {
                double[] d = scratch.doubles(n);
                b.asDoubleBuffer().get(at, d, 0, n);
                for (int i = 0; i < n; i++) dst[i] = (float) d[i];
            }
            default -> throw new IllegalStateException(dtype.toString());
        }
    }
}
