package org.mergelab.io;

import java.io.Closeable;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * One weight file of a checkpoint, whatever its format (safetensors, a PyTorch {@code .bin}): the tensors it holds
 * and their bytes, read on demand. Implementations are safe to read from several threads at once.
 */
public interface TensorFile extends Closeable {
    java.nio.file.Path path();

    /** Tensors in file order. */
    Map<String, TensorInfo> tensors();

    default TensorInfo info(String name) {
        TensorInfo t = tensors().get(name);
        if (t == null) throw new CheckpointException(path() + ": no tensor named '" + name + "'");
        return t;
    }

    /**
     * Reads elements {@code [offset, offset + n)} of a tensor (in row-major order), widened to float32, into
     * {@code dst[dstOff..dstOff + n)}: for tensors too large for one array, or to stream one in pieces.
     */
    void readFloats(TensorInfo t, long offset, float[] dst, int dstOff, int n);

    /** Reads a whole tensor into {@code dst[0..numel)}. */
    default void readFloats(TensorInfo t, float[] dst) {
        long n = t.numel();
        if (dst.length < n) {
            throw new IllegalArgumentException("buffer of " + dst.length + " floats is too small for " + t);
        }
        readFloats(t, 0, dst, 0, (int) n);
    }

    /** The tensor's stored bytes, little-endian, row-major (at most 2 GiB: use readFloats in pieces beyond). */
    ByteBuffer map(TensorInfo t);

    /**
     * Copies the tensor's stored bytes {@code [from, from + dst.remaining())} (little-endian, row-major) into
     * {@code dst}, advancing its position. For scans that read every byte once: a positional read into a buffer the
     * caller reuses costs a copy and nothing after it, where a fresh mapping costs a page fault per 16 pages and a
     * page-table teardown when the collector gets to it.
     */
    void readBytes(TensorInfo t, long from, ByteBuffer dst);

    /**
     * Copies the tensor's stored bytes {@code [from, from + length)} into a window of {@code into} placed where the
     * copy runs fastest (see {@link ReadBuffer}), and returns that window: little-endian, element bytes from index 0,
     * limit {@code length}. Valid until the next read into the same buffer.
     */
    default ByteBuffer readBytes(TensorInfo t, long from, int length, ReadBuffer into) {
        ByteBuffer dst = into.window(filePosition(t, from), length);
        readBytes(t, from, dst);
        return dst.flip();
    }

    /**
     * Where byte {@code from} of the tensor's stored data lies in the file, or -1 where its bytes are not stored in
     * one run (a strided view).
     */
    long filePosition(TensorInfo t, long from);

    default Tensor read(String name) {
        TensorInfo t = info(name);
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(path() + ": tensor '" + name + "' has " + t.numel()
                    + " elements, more than one Java array holds; read it in pieces with readFloats(t, offset, ...)");
        }
        float[] data = new float[(int) t.numel()];
        readFloats(t, data);
        return new Tensor(name, t.shape(), data);
    }

    @Override
    void close();
}
