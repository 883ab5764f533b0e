package org.mergelab.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * PyTorch shards, as transformers writes them without safe serialization: a lone {@code pytorch_model.bin}, or
 * {@code pytorch_model-0000i-of-0000N.bin} plus {@code pytorch_model.bin.index.json}.
 */
public final class ShardedTorchWriter extends ShardedWriter {
    private ShardedTorchWriter(Path dir, List<TensorSpec> specs, long maxShardBytes) throws IOException {
        super(dir, specs, maxShardBytes, Checkpoint.TORCH_FILE, "pytorch_model-%05d-of-%05d.bin",
                Checkpoint.TORCH_INDEX_FILE, TorchWriter::create);
    }

    public static ShardedTorchWriter create(Path dir, List<TensorSpec> specs, long maxShardBytes) throws IOException {
        return new ShardedTorchWriter(dir, specs, maxShardBytes);
    }

    /** Finishes every shard and writes the index when there is more than one. */
    public void finish() throws IOException {
        finish(Map.of());
    }
}
