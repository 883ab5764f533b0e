package org.mergelab.merge;

/**
 * A tensor too large to hold whole, merged a chunk at a time: its inputs are read on demand, already rounded to the
 * working dtype, and {@link #meta()} gives the parameters, precision and random streams as for an in-memory merge.
 * Chunks are {@link #CHUNK} elements, the size mergekit itself works in for SLERP, so chunked reductions keep its
 * order of operations.
 */
public final class TensorStream {
    /** Elements per chunk: mergekit's SLERP chunk (1M), about 4 MB of float32 per input. */
    public static final int CHUNK = 1 << 20;

    /** Reads elements {@code [offset, offset + len)} of input {@code input} into {@code dst[0..len)}. */
    interface Reader {
        void read(int input, long offset, float[] dst, int len);

        /** Input {@code input}'s bf16 bytes, when {@link #read} gives exactly their values; else null. */
        default java.nio.ByteBuffer bf16(int input) {
            return null;
        }
    }

    private final TensorInputs meta;
    private final Reader reader;
    private final long numel;

    TensorStream(TensorInputs meta, long numel, Reader reader) {
        this.meta = meta;
        this.numel = numel;
        this.reader = reader;
    }

    /** Parameters, base, precision and random streams (its tensors hold no data). */
    public TensorInputs meta() {
        return meta;
    }

    public long numel() {
        return numel;
    }

    public int chunks() {
        return (int) ((numel + CHUNK - 1) / CHUNK);
    }

    /** Elements in chunk {@code c}. */
    public int chunkLength(int c) {
        return (int) Math.min(CHUNK, numel - (long) c * CHUNK);
    }

    /** Chunk {@code c} of input {@code input} into {@code dst} (at least {@link #CHUNK} long). */
    public void read(int input, int c, float[] dst) {
        reader.read(input, (long) c * CHUNK, dst, chunkLength(c));
    }

    /**
     * Elements {@code [offset, offset + len)} of input {@code input} into {@code dst[0..len)}: for working through a
     * chunk in blocks small enough to stay in the processor's cache between decoding and use.
     */
    public void read(int input, long offset, float[] dst, int len) {
        reader.read(input, offset, dst, len);
    }

    /**
     * The stored bytes of input {@code input} (little-endian bfloat16, element 0 at index 0) when it is a
     * memory-mapped bf16 tensor whose values {@link #read} returns unchanged, else null: for kernels that decode as
     * they compute.
     */
    public java.nio.ByteBuffer bf16(int input) {
        return reader.bf16(input);
    }

    /** Elements per block when a chunk is worked through in cache-sized pieces (a multiple of 32). */
    public static final int BLOCK = 1 << 14;

    /** Receives the merged tensor chunk by chunk, in order. */
    public interface Output {
        void write(int chunk, float[] data, int len) throws java.io.IOException;
    }
}
