package org.mergelab.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** Positional reads of a tensor's stored bytes, shared by the file formats that store tensors contiguously. */
final class TensorBytes {
    private TensorBytes() {}

    /** Throws unless bytes {@code [from, from + length)} lie inside the tensor's stored bytes. */
    static void checkRange(TensorInfo t, long from, long length) {
        if (from < 0 || length < 0 || from + length > t.byteSize()) {
            throw new IllegalArgumentException(t + ": bytes [" + from + ", " + (from + length) + ") are outside its "
                    + t.byteSize());
        }
    }

    /** Fills {@code dst} from byte {@code pos} of the file; a file that ends first is reported as truncated. */
    static void read(Path path, FileChannel channel, TensorInfo t, long pos, ByteBuffer dst) {
        try {
            while (dst.hasRemaining()) {
                int r = channel.read(dst, pos);
                if (r < 0) {
                    throw new CheckpointException(path + ": tensor '" + t.name() + "' ends early; the file is"
                            + " truncated");
                }
                pos += r;
            }
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read tensor '" + t.name() + "': " + e.getMessage(), e);
        }
    }
}
