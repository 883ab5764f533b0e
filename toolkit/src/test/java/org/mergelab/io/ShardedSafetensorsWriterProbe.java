package org.mergelab.io;

import java.util.List;

/** Test access to how the sharded writers split tensors, without writing anything. */
public final class ShardedSafetensorsWriterProbe {
    private ShardedSafetensorsWriterProbe() {}

    public static List<List<TensorSpec>> shards(List<TensorSpec> specs, long maxShardBytes) {
        return ShardedSafetensorsWriter.shards(specs, maxShardBytes);
    }
}
