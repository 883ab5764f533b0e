package org.mergelab.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The weights of a checkpoint being written, in shards of at most a given size: safetensors (the default) or
 * PyTorch's pickle format (mergekit's {@code --no-safe-serialization}). Tensors are declared up front and then
 * written in any order, from any thread, whole or in chunks.
 */
public interface CheckpointWriter extends Closeable {
    void write(String name, float[] data) throws IOException;

    void writeChunk(String name, long offset, float[] data, int n) throws IOException;

    /** Records that a tensor written in chunks is complete. */
    void markWritten(String name);

    /** Writes a tensor's stored bytes unchanged (integer buffers). */
    void writeRaw(String name, ByteBuffer bytes) throws IOException;

    /** Flushes every shard and writes the index when there is more than one. */
    void finish(Map<String, String> indexMetadata) throws IOException;

    static CheckpointWriter create(Path dir, List<TensorSpec> specs, long maxShardBytes, boolean safetensors)
            throws IOException {
        return safetensors ? ShardedSafetensorsWriter.create(dir, specs, maxShardBytes)
                : ShardedTorchWriter.create(dir, specs, maxShardBytes);
    }
}
