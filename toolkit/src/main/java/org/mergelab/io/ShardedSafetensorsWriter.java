package org.mergelab.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint's tensors into shards of at most {@code maxShardBytes} each, as mergekit and transformers
 * lay them out: a lone {@code model.safetensors}, or {@code model-0000i-of-0000N.safetensors} plus
 * {@code model.safetensors.index.json}. A shard is closed when the next tensor would push it past the limit, so a
 * tensor larger than the limit gets a shard of its own. All headers are written up front; tensors may then arrive in
 * any order, from any thread.
 */
public final class ShardedSafetensorsWriter implements CheckpointWriter {
    private final Path dir;
    private final List<SafetensorsWriter> shards = new ArrayList<>();
    private final Map<String, SafetensorsWriter> shardOf = new HashMap<>();
    private final long totalBytes;

    private ShardedSafetensorsWriter(Path dir, long totalBytes) {
        this.dir = dir;
        this.totalBytes = totalBytes;
    }

    public static ShardedSafetensorsWriter create(Path dir, List<TensorSpec> specs, long maxShardBytes) throws IOException {
        List<List<TensorSpec>> groups = shards(specs, maxShardBytes);
        long total = specs.stream().mapToLong(TensorSpec::byteSize).sum();
        ShardedSafetensorsWriter w = new ShardedSafetensorsWriter(dir, total);
        try {
            for (int i = 0; i < groups.size(); i++) {
                String file = groups.size() == 1 ? Checkpoint.SINGLE_FILE
                        : String.format("model-%05d-of-%05d.safetensors", i + 1, groups.size());
                SafetensorsWriter shard = SafetensorsWriter.create(dir.resolve(file), groups.get(i));
                w.shards.add(shard);
                for (TensorSpec s : groups.get(i)) w.shardOf.put(s.name(), shard);
            }
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
        return w;
    }

    /** Tensors grouped into shards in order: a shard closes when the next tensor would take it past the limit. */
    static List<List<TensorSpec>> shards(List<TensorSpec> specs, long maxShardBytes) {
        List<List<TensorSpec>> groups = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long currentBytes = 0;
        for (TensorSpec s : specs) {
            if (!current.isEmpty() && currentBytes + s.byteSize() > maxShardBytes) {
                groups.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(s);
            currentBytes += s.byteSize();
        }
        if (!current.isEmpty() || groups.isEmpty()) groups.add(current);
        return groups;
    }

    public int shardCount() { return shards.size(); }

    @Override
    public void write(String name, float[] data) throws IOException {
        shard(name).write(name, data);
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
    public void writeRaw(String name, ByteBuffer bytes) throws IOException {
        shard(name).writeRaw(name, bytes);
    }

    private SafetensorsWriter shard(String name) {
        SafetensorsWriter s = shardOf.get(name);
        if (s == null) throw new IllegalArgumentException("tensor '" + name + "' was not declared");
        return s;
    }

    /** Flushes every shard and writes the index when there is more than one. */
    @Override
    public void finish(Map<String, String> indexMetadata) throws IOException {
        for (SafetensorsWriter s : shards) s.finish();
        if (shards.size() > 1) {
            ObjectNode index = Json.object();
            ObjectNode meta = index.putObject("metadata");
            meta.put("total_size", totalBytes);
            indexMetadata.forEach(meta::put);
            ObjectNode map = index.putObject("weight_map");
            shardOf.entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> map.put(e.getKey(), e.getValue().path().getFileName().toString()));
            Json.write(dir.resolve(Checkpoint.INDEX_FILE), index);
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsWriter s : shards) {
            try {
                s.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
