package org.mergelab.io;

import java.nio.ByteBuffer;

/**
 * One tensor read in pieces, several times over (a streamed merge makes up to three passes): a safetensors tensor
 * is memory-mapped once, so later passes find its pages already mapped instead of copying them again; anything
 * else (a PyTorch .bin, a tensor over 2 GiB) is read piece by piece.
 */
public final class TensorReader {
    private final TensorFile file;
    private final TensorInfo info;
    private final ByteBuffer mapped;

    TensorReader(TensorFile file, TensorInfo info) {
        this.file = file;
        this.info = info;
        this.mapped = file instanceof SafetensorsFile && info.byteSize() <= Integer.MAX_VALUE ? file.map(info) : null;
    }

    public TensorInfo info() {
        return info;
    }

    /**
     * The tensor's stored bytes (little-endian, element 0 at index 0) when it is bfloat16 and memory-mapped, else
     * null: a kernel that decodes bf16 as it computes reads them here, instead of widening each piece into a float
     * buffer first and reading that back (which on a large tensor takes longer than the arithmetic).
     */
    public ByteBuffer bf16Bytes() {
        if (mapped == null || info.dtype() != DType.BF16) return null;
        return mapped.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** Elements {@code [offset, offset + n)}, widened to float32, into {@code dst[dstOff..dstOff + n)}. */
    public void read(long offset, float[] dst, int dstOff, int n) {
        if (mapped == null) {
            file.readFloats(info, offset, dst, dstOff, n);
            return;
        }
        if (offset < 0 || n < 0 || offset + n > info.numel()) {
            throw new IllegalArgumentException(info + ": elements [" + offset + ", " + (offset + n) + ") are outside"
                    + " its " + info.numel());
        }
        ByteBuffer view = mapped.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        view.position((int) (offset * info.dtype().size()));
        Conversions.toFloats(view, info.dtype(), dst, dstOff, n);
    }
}
