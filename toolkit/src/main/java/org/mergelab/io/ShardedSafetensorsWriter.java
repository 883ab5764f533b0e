package org.mergelab.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Safetensors shards: a lone {@code model.safetensors}, or {@code model-0000i-of-0000N.safetensors} plus
 * {@code model.safetensors.index.json}. All headers are written up front; tensors may then arrive in any order,
 * from any thread.
 */
public final class ShardedSafetensorsWriter extends ShardedWriter {
    private ShardedSafetensorsWriter(Path dir, List<TensorSpec> specs, long maxShardBytes) throws IOException {
        super(dir, specs, maxShardBytes, Checkpoint.SINGLE_FILE, "model-%05d-of-%05d.safetensors",
                Checkpoint.INDEX_FILE, SafetensorsWriter::create);
    }

    public static ShardedSafetensorsWriter create(Path dir, List<TensorSpec> specs, long maxShardBytes)
            throws IOException {
        return new ShardedSafetensorsWriter(dir, specs, maxShardBytes);
    }
}
