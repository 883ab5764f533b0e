package org.mergelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A Hugging Face checkpoint folder: {@code config.json} plus {@code model.safetensors} or shards listed in
 * {@code model.safetensors.index.json}; failing those, PyTorch's {@code pytorch_model.bin} or the shards listed in
 * {@code pytorch_model.bin.index.json} (read by {@link TorchFile}, which never runs the pickle's code). Opening reads
 * only headers; tensors are read one at a time, on demand, from memory-mapped files. Safe to read from several
 * threads at once.
 */
public final class Checkpoint implements Closeable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String TORCH_FILE = "pytorch_model.bin";
    public static final String TORCH_INDEX_FILE = "pytorch_model.bin.index.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final ObjectNode config;
    private final Map<String, Path> fileOf;
    private final Map<Path, TensorFile> open = new LinkedHashMap<>();
    private final Map<String, TensorInfo> infos = new LinkedHashMap<>();

    private Checkpoint(Path dir, ObjectNode config, Map<String, Path> fileOf) {
        this.dir = dir;
        this.config = config;
        this.fileOf = fileOf;
    }

    /**
     * Opens a checkpoint folder, or a lone {@code .safetensors} or PyTorch {@code .bin} file (which then has an
     * empty config).
     */
    public static Checkpoint open(Path path) {
        if (!Files.exists(path)) {
            throw new CheckpointException("model folder " + path + " does not exist");
        }
        if (Files.isRegularFile(path)) {
            String n = path.getFileName().toString();
            if (!n.endsWith(".safetensors") && !n.endsWith(".bin") && !n.endsWith(".pt") && !n.endsWith(".pth")) {
                throw new CheckpointException(path + " is a file but not a .safetensors or PyTorch .bin file;"
                        + " expected a model folder");
            }
            Checkpoint c = new Checkpoint(path.toAbsolutePath().getParent(), JSON.createObjectNode(),
                    singleFile(path.toAbsolutePath()));
            c.loadHeaders();
            return c;
        }
        Path dir = path.toAbsolutePath().normalize();
        ObjectNode config = readConfig(dir);
        Map<String, Path> fileOf;
        if (Files.isRegularFile(dir.resolve(INDEX_FILE))) {
            fileOf = readIndex(dir, dir.resolve(INDEX_FILE));
        } else if (Files.isRegularFile(dir.resolve(SINGLE_FILE))) {
            fileOf = singleFile(dir.resolve(SINGLE_FILE));
        } else if (Files.isRegularFile(dir.resolve(TORCH_INDEX_FILE))) {
            fileOf = readIndex(dir, dir.resolve(TORCH_INDEX_FILE));
        } else if (Files.isRegularFile(dir.resolve(TORCH_FILE))) {
            fileOf = singleFile(dir.resolve(TORCH_FILE));
        } else {
            throw new CheckpointException(dir + " has no " + SINGLE_FILE + ", " + INDEX_FILE + ", " + TORCH_FILE
                    + " or " + TORCH_INDEX_FILE + describeOtherWeights(dir));
        }
        Checkpoint c = new Checkpoint(dir, config, fileOf);
        c.loadHeaders();
        return c;
    }

    private static String describeOtherWeights(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> other = s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".gguf") || n.endsWith(".safetensors"))
                    .sorted().toList();
            return other.isEmpty() ? " (no weight files at all)" : " (found " + String.join(", ", other)
                    + "; a .gguf file is imported with 'mergelab import-gguf')";
        } catch (IOException e) {
            return "";
        }
    }

    private static Map<String, Path> singleFile(Path file) {
        // Names are filled in from the header by loadHeaders.
        Map<String, Path> m = new LinkedHashMap<>();
        m.put(null, file);
        return m;
    }

    private static ObjectNode readConfig(Path dir) {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) return JSON.createObjectNode();
        try {
            JsonNode n = JSON.readTree(cfg.toFile());
            if (!(n instanceof ObjectNode o)) throw new CheckpointException(cfg + ": not a JSON object");
            return o;
        } catch (IOException e) {
            throw new CheckpointException(cfg + ": cannot parse: " + e.getMessage(), e);
        }
    }

    private static Map<String, Path> readIndex(Path dir, Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (IOException e) {
            throw new CheckpointException(index + ": cannot parse: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new CheckpointException(index + ": has no weight_map object");
        }
        Map<String, Path> fileOf = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Path shard = dir.resolve(e.getValue().asText()).normalize();
            if (!shard.startsWith(dir) || !shard.getParent().equals(dir)) {
                throw new CheckpointException(index + ": tensor '" + e.getKey() + "' points to '"
                        + e.getValue().asText() + "', outside the model folder");
            }
            if (!Files.isRegularFile(shard)) {
                throw new CheckpointException(index + ": tensor '" + e.getKey() + "' is in shard "
                        + e.getValue().asText() + ", which does not exist");
            }
            fileOf.put(e.getKey(), shard);
        }
        return fileOf;
    }

    private void loadHeaders() {
        if (fileOf.containsKey(null)) {
            Path file = fileOf.remove(null);
            TensorFile f = file(file);
            for (String name : f.tensors().keySet()) {
                fileOf.put(name, file);
                infos.put(name, f.info(name));
            }
            return;
        }
        for (Map.Entry<String, Path> e : fileOf.entrySet()) {
            TensorFile f = file(e.getValue());
            if (!f.tensors().containsKey(e.getKey())) {
                throw new CheckpointException(e.getValue() + ": the index says it holds tensor '" + e.getKey()
                        + "' but it does not");
            }
            infos.put(e.getKey(), f.info(e.getKey()));
        }
    }

    private synchronized TensorFile file(Path p) {
        return open.computeIfAbsent(p, f -> f.getFileName().toString().endsWith(".safetensors")
                ? SafetensorsFile.open(f) : TorchFile.open(f));
    }

    /** The folder (for a lone file, the folder holding it). */
    public Path dir() { return dir; }

    /** The folder's name, used to label models in tables and charts. */
    public String name() { return dir.getFileName() == null ? dir.toString() : dir.getFileName().toString(); }

    /** config.json as read (empty when the folder has none). Callers must not modify it. */
    public ObjectNode config() { return config; }

    /** Tensor names in file order. */
    public List<String> tensorNames() { return Collections.unmodifiableList(new ArrayList<>(infos.keySet())); }

    public boolean has(String name) { return infos.containsKey(name); }

    public TensorInfo info(String name) {
        TensorInfo t = infos.get(name);
        if (t == null) throw new CheckpointException("tensor '" + name + "' is not in model " + dir);
        return t;
    }

    public Map<String, TensorInfo> infos() { return Collections.unmodifiableMap(infos); }

    /** Total bytes of tensor data. */
    public long byteSize() {
        return infos.values().stream().mapToLong(TensorInfo::byteSize).sum();
    }

    public Tensor read(String name) {
        TensorInfo t = info(name);
        return file(t.file()).read(name);
    }

    /** Reads a tensor as float32 into {@code dst[0..numel)}: lets callers reuse one buffer across tensors. */
    public void readInto(String name, float[] dst) {
        TensorInfo t = info(name);
        file(t.file()).readFloats(t, dst);
    }

    /**
     * Reads elements {@code [offset, offset + n)} of a tensor (row-major) as float32 into {@code dst[dstOff..)}: for
     * tensors too large for one array, or to stream a tensor in pieces.
     */
    public void readChunk(String name, long offset, float[] dst, int dstOff, int n) {
        TensorInfo t = info(name);
        file(t.file()).readFloats(t, offset, dst, dstOff, n);
    }

    /** A reader for one tensor, for reading it in pieces several times (see {@link TensorReader}). */
    public TensorReader reader(String name) {
        TensorInfo t = info(name);
        return new TensorReader(file(t.file()), t);
    }

    /**
     * Copies the tensor's stored bytes {@code [from, from + length)} into a window of {@code into} and returns it (see
     * {@link TensorFile#readBytes(TensorInfo, long, int, ReadBuffer)}).
     */
    public java.nio.ByteBuffer readBytes(String name, long from, int length, ReadBuffer into) {
        TensorInfo t = info(name);
        return file(t.file()).readBytes(t, from, length, into);
    }

    /** The tensor's stored bytes, memory-mapped (for copying non-float tensors unchanged). */
    public java.nio.ByteBuffer readRaw(String name) {
        TensorInfo t = info(name);
        return file(t.file()).map(t);
    }

    /** An integer from config.json, or {@code fallback}. */
    public int configInt(String key, int fallback) {
        JsonNode n = config.get(key);
        return n != null && n.canConvertToInt() ? n.asInt() : fallback;
    }

    @Override
    public synchronized void close() {
        open.values().forEach(TensorFile::close);
        open.clear();
    }

    @Override
    public String toString() {
        return "Checkpoint[" + dir + ", " + infos.size() + " tensors]";
    }
}
