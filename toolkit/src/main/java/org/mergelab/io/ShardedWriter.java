package org.mergelab.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's tensors in shards of at most a given size, laid out as transformers and mergekit lay them out: one
 * file, or numbered files plus a JSON index mapping each tensor to its file. A shard closes when the next tensor would
 * push it past the limit, so a tensor larger than the limit gets a shard of its own. The formats differ only in how a
 * shard file is written and named ({@link ShardedSafetensorsWriter}, {@link ShardedTorchWriter}).
 */
abstract class ShardedWriter implements CheckpointWriter {
    /** Creates one shard file holding {@code specs}. */
    interface ShardMaker {
        ShardFile create(Path file, List<TensorSpec> specs) throws IOException;
    }

    private final Path dir;
    private final String indexFile;
    private final List<ShardFile> shards = new ArrayList<>();
    private final Map<String, ShardFile> shardOf = new HashMap<>();
    private final long totalBytes;

    /**
     * @param single   the name of a lone shard ({@code model.safetensors})
     * @param numbered the format of the name of shard i of n ({@code model-%05d-of-%05d.safetensors})
     */
    ShardedWriter(Path dir, List<TensorSpec> specs, long maxShardBytes, String single, String numbered,
                  String indexFile, ShardMaker maker) throws IOException {
        this.dir = dir;
        this.indexFile = indexFile;
        this.totalBytes = specs.stream().mapToLong(TensorSpec::byteSize).sum();
        List<List<TensorSpec>> groups = shards(specs, maxShardBytes);
        try {
            for (int i = 0; i < groups.size(); i++) {
                String file = groups.size() == 1 ? single : String.format(numbered, i + 1, groups.size());
                ShardFile shard = maker.create(dir.resolve(file), groups.get(i));
                shards.add(shard);
                for (TensorSpec s : groups.get(i)) shardOf.put(s.name(), shard);
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
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

    private ShardFile shard(String name) {
        ShardFile s = shardOf.get(name);
        if (s == null) throw new IllegalArgumentException("tensor '" + name + "' was not declared");
        return s;
    }

    /** Flushes every shard and writes the index when there is more than one. */
    @Override
    public void finish(Map<String, String> indexMetadata) throws IOException {
        for (ShardFile s : shards) s.finish();
        if (shards.size() > 1) {
            ObjectNode index = Json.object();
            ObjectNode meta = index.putObject("metadata");
            meta.put("total_size", totalBytes);
            indexMetadata.forEach(meta::put);
            ObjectNode map = index.putObject("weight_map");
            shardOf.entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> map.put(e.getKey(), e.getValue().path().getFileName().toString()));
            Json.write(dir.resolve(indexFile), index);
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (ShardFile s : shards) {
            try {
                s.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
