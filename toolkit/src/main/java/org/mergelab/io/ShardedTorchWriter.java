package org.mergelab.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint as PyTorch {@code .bin} files the way transformers shards them: a lone
 * {@code pytorch_model.bin}, or {@code pytorch_model-0000i-of-0000N.bin} plus {@code pytorch_model.bin.index.json},
 * split by the same rule as {@link ShardedSafetensorsWriter}. For test checkpoints in the older format.
 */
public final class ShardedTorchWriter implements CheckpointWriter {
    private final Path dir;
    private final List<TorchWriter> shards = new ArrayList<>();
    private final Map<String, TorchWriter> shardOf = new HashMap<>();
    private final long totalBytes;

    private ShardedTorchWriter(Path dir, long totalBytes) {
        this.dir = dir;
        this.totalBytes = totalBytes;
    }

    public static ShardedTorchWriter create(Path dir, List<TensorSpec> specs, long maxShardBytes) throws IOException {
        List<List<TensorSpec>> groups = ShardedSafetensorsWriter.shards(specs, maxShardBytes);
        ShardedTorchWriter w = new ShardedTorchWriter(dir, specs.stream().mapToLong(TensorSpec::byteSize).sum());
        try {
            for (int i = 0; i < groups.size(); i++) {
                String file = groups.size() == 1 ? Checkpoint.TORCH_FILE
                        : String.format("pytorch_model-%05d-of-%05d.bin", i + 1, groups.size());
                TorchWriter shard = TorchWriter.create(dir.resolve(file), groups.get(i));
                w.shards.add(shard);
                for (TensorSpec s : groups.get(i)) w.shardOf.put(s.name(), shard);
            }
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
        return w;
    }

    public int shardCount() { return shards.size(); }

    @Override
    public void writeRaw(String name, java.nio.ByteBuffer bytes) throws IOException {
        shard(name).writeRaw(name, bytes);
    }

    @Override
    public void finish(Map<String, String> indexMetadata) throws IOException {
        finish();
    }

    @Override
    public void writeChunk(String name, long offset, float[] data, int n) throws IOException {
        shard(name).writeChunk(name, offset, data, n);
    }

    @Override
    public void markWritten(String name) {
        shard(name).markWritten(name);
    }

    @Override
    public void write(String name, float[] data) throws IOException {
        shard(name).write(name, data);
    }

    private TorchWriter shard(String name) {
        TorchWriter s = shardOf.get(name);
        if (s == null) throw new IllegalArgumentException("tensor '" + name + "' was not declared");
        return s;
    }

    /** Finishes every shard and writes the index when there is more than one. */
    public void finish() throws IOException {
        for (TorchWriter s : shards) s.finish();
        if (shards.size() > 1) {
            ObjectNode index = Json.object();
            index.putObject("metadata").put("total_size", totalBytes);
            ObjectNode map = index.putObject("weight_map");
            shardOf.entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> map.put(e.getKey(), e.getValue().path().getFileName().toString()));
            Json.write(dir.resolve(Checkpoint.TORCH_INDEX_FILE), index);
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (TorchWriter s : shards) {
            try {
                s.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
