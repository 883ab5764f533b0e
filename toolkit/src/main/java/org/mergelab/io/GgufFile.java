package org.mergelab.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (llama.cpp's format, versions 2 and 3): typed key-value metadata, then tensor descriptions, then the
 * aligned tensor data. Opening reads and checks the header; tensors are read on demand and dequantized to float32.
 * Element types read: F32, F16, BF16 and Q8_0 (blocks of 32 int8 values sharing one fp16 scale). GGUF lists
 * dimensions innermost first; {@link Tensor#shape()} here is row-major, as torch and safetensors write it.
 */
public final class GgufFile implements AutoCloseable {
    /** ggml element types this reader knows, with their block sizes (elements) and bytes per block. */
    public enum GgmlType {
        F32(0, 1, 4), F16(1, 1, 2), Q8_0(8, 32, 34), BF16(30, 1, 2);

        final int id, blockSize, blockBytes;

        GgmlType(int id, int blockSize, int blockBytes) {
            this.id = id;
            this.blockSize = blockSize;
            this.blockBytes = blockBytes;
        }
    }

    /** One tensor: its name, type, row-major shape and byte offset within the data section. */
    public record Info(String name, GgmlType type, long[] shape, long offset, long byteSize) {
        public long numel() { return TensorInfo.numel(shape); }
    }

    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final long MAX_COUNT = 1 << 24;

    private final Path path;
    private final FileChannel channel;
    private final Map<String, Object> metadata;
    private final Map<String, Info> tensors;
    private final long dataStart;

    private GgufFile(Path path, FileChannel channel, Map<String, Object> metadata, Map<String, Info> tensors,
                     long dataStart) {
        this.path = path;
        this.channel = channel;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
    }

    public static GgufFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot open GGUF file: " + e.getMessage(), e);
        }
        try {
            return read(path, ch);
        } catch (IOException e) {
            close(ch);
            throw new CheckpointException(path + ": cannot read GGUF file: " + e.getMessage(), e);
        } catch (java.nio.BufferUnderflowException e) {
            close(ch);
            throw new CheckpointException(path + ": the GGUF header ends early; the file is truncated or corrupt");
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
    }

    private static GgufFile read(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        // Headers are small next to the weights: map the first part (up to 256 MiB) and parse from it.
        ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, 256L << 20))
                .order(ByteOrder.LITTLE_ENDIAN);
        if (size < 24 || b.getInt() != MAGIC) throw new CheckpointException(path + ": not a GGUF file (no GGUF magic)");
        int version = b.getInt();
        if (version != 2 && version != 3) {
            throw new CheckpointException(path + ": GGUF version " + version + " is not read (only versions 2 and 3)");
        }
        Header h = new Header(path, b);
        long nTensors = h.count("tensor count"), nKv = h.count("metadata count");
        Map<String, Object> meta = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            String key = h.string();
            meta.put(key, h.value(b.getInt()));
        }
        List<long[]> dims = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        for (long i = 0; i < nTensors; i++) {
            names.add(h.string());
            int nd = b.getInt();
            if (nd < 0 || nd > 8) throw new CheckpointException(path + ": tensor '" + names.get(names.size() - 1)
                    + "' has " + nd + " dimensions");
            long[] d = new long[nd];
            for (int k = 0; k < nd; k++) d[nd - 1 - k] = b.getLong();
            dims.add(d);
            types.add(b.getInt());
            offsets.add(b.getLong());
        }
        long alignment = 32;
        if (meta.get("general.alignment") instanceof Number n) alignment = n.longValue();
        if (alignment <= 0 || alignment > 1 << 20 || Long.bitCount(alignment) != 1) {
            throw new CheckpointException(path + ": general.alignment " + alignment + " is not a power of two");
        }
        long dataStart = (b.position() + alignment - 1) / alignment * alignment;
        Map<String, Info> tensors = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            GgmlType type = typeOf(path, name, types.get(i));
            long[] shape = dims.get(i);
            long numel;
            try {
                numel = TensorInfo.numel(shape);
            } catch (ArithmeticException e) {
                throw new CheckpointException(path + ": tensor '" + name + "' shape overflows");
            }
            if (numel < 0 || (shape.length > 0 && shape[shape.length - 1] % type.blockSize != 0)) {
                throw new CheckpointException(path + ": tensor '" + name + "' of type " + type + " has rows of "
                        + (shape.length > 0 ? shape[shape.length - 1] : 0) + " elements, not whole blocks of "
                        + type.blockSize);
            }
            long bytes = numel / type.blockSize * type.blockBytes;
            long off = offsets.get(i);
            if (off < 0 || off % alignment != 0 || dataStart + off + bytes > size) {
                throw new CheckpointException(path + ": tensor '" + name + "' (" + bytes + " bytes at data offset " + off
                        + ") does not fit the file's " + size + " bytes; the file is truncated or corrupt");
            }
            if (tensors.put(name, new Info(name, type, shape, off, bytes)) != null) {
                throw new CheckpointException(path + ": tensor '" + name + "' is listed twice");
            }
        }
        return new GgufFile(path, ch, Collections.unmodifiableMap(meta), Collections.unmodifiableMap(tensors), dataStart);
    }

    private static GgmlType typeOf(Path path, String name, int id) {
        for (GgmlType t : GgmlType.values()) if (t.id == id) return t;
        throw new CheckpointException(path + ": tensor '" + name + "' has ggml type " + id + ", which is not read"
                + " (F32, F16, BF16 and Q8_0 are; re-quantize the model to one of those with llama.cpp)");
    }

    /** Sequential reads of the header, every length checked against what is left. */
    private static final class Header {
        private final Path path;
        private final ByteBuffer b;

        Header(Path path, ByteBuffer b) {
            this.path = path;
            this.b = b;
        }

        long count(String what) {
            long n = b.getLong();
            if (n < 0 || n > MAX_COUNT) throw new CheckpointException(path + ": implausible " + what + " " + n);
            return n;
        }

        String string() {
            long n = b.getLong();
            if (n < 0 || n > b.remaining()) {
                throw new CheckpointException(path + ": a string of " + n + " bytes runs past the header");
            }
            byte[] s = new byte[(int) n];
            b.get(s);
            return new String(s, StandardCharsets.UTF_8);
        }

        Object value(int type) {
            return switch (type) {
                case 0 -> (long) (b.get() & 0xFF);
                case 1 -> (long) b.get();
                case 2 -> (long) (b.getShort() & 0xFFFF);
                case 3 -> (long) b.getShort();
                case 4 -> b.getInt() & 0xFFFFFFFFL;
                case 5 -> (long) b.getInt();
                case 6 -> (double) b.getFloat();
                case 7 -> b.get() != 0;
                case 8 -> string();
                case 9 -> {
                    int elem = b.getInt();
                    long n = b.getLong();
                    if (n < 0 || n > b.remaining()) {
                        throw new CheckpointException(path + ": an array of " + n + " values runs past the header");
                    }
                    List<Object> out = new ArrayList<>((int) n);
                    for (long i = 0; i < n; i++) out.add(value(elem));
                    yield Collections.unmodifiableList(out);
                }
                case 10, 11 -> b.getLong();
                case 12 -> b.getDouble();
                default -> throw new CheckpointException(path + ": unknown metadata value type " + type);
            };
        }
    }

    public Path path() { return path; }

    /** Metadata: integers as Long, floats as Double (float32 values widened), strings, booleans, lists. */
    public Map<String, Object> metadata() { return metadata; }

    public Map<String, Info> tensors() { return tensors; }

    public Info info(String name) {
        Info t = tensors.get(name);
        if (t == null) throw new CheckpointException(path + ": no tensor named '" + name + "'");
        return t;
    }

    public String string(String key) {
        Object v = metadata.get(key);
        return v instanceof String s ? s : null;
    }

    /** An integer metadata value, or {@code fallback} when absent; a value of another type is an error. */
    public long integer(String key, long fallback) {
        Object v = metadata.get(key);
        if (v == null) return fallback;
        if (v instanceof Long l) return l;
        throw new CheckpointException(path + ": metadata " + key + " is " + v + ", not an integer");
    }

    /** A float metadata value, or {@code fallback}. */
    public double number(String key, double fallback) {
        Object v = metadata.get(key);
        if (v == null) return fallback;
        if (v instanceof Number n) return n.doubleValue();
        throw new CheckpointException(path + ": metadata " + key + " is " + v + ", not a number");
    }

    /** Whether two tensors hold the same type, shape and bytes (a tied matrix written twice, say). */
    public boolean sameData(String a, String b) {
        Info x = info(a), y = info(b);
        if (x.type() != y.type() || !java.util.Arrays.equals(x.shape(), y.shape())) return false;
        try {
            for (long done = 0; done < x.byteSize(); ) {
                long n = Math.min(1L << 30, x.byteSize() - done);
                if (!channel.map(FileChannel.MapMode.READ_ONLY, dataStart + x.offset() + done, n)
                        .equals(channel.map(FileChannel.MapMode.READ_ONLY, dataStart + y.offset() + done, n))) {
                    return false;
                }
                done += n;
            }
            return true;
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot compare tensors: " + e.getMessage(), e);
        }
    }

    /** The tensor dequantized to float32, row-major. */
    public float[] read(String name) {
        Info t = info(name);
        float[] out = new float[Math.toIntExact(t.numel())];
        ByteBuffer b;
        try {
            b = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.offset(), t.byteSize())
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read tensor '" + name + "': " + e.getMessage(), e);
        }
        switch (t.type()) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < out.length; i++) out[i] = Half.fp16ToFloat(b.getShort(2 * i));
            }
            case BF16 -> {
                for (int i = 0; i < out.length; i++) out[i] = Half.bf16ToFloat(b.getShort(2 * i));
            }
            case Q8_0 -> {
                // Each block: an fp16 scale d, then 32 signed bytes q; value = d * q (exact in float32).
                for (int blk = 0, n = out.length / 32; blk < n; blk++) {
                    int base = blk * 34;
                    float d = Half.fp16ToFloat(b.getShort(base));
                    for (int i = 0; i < 32; i++) out[blk * 32 + i] = d * b.get(base + 2 + i);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        close(channel);
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // read-only
        }
    }
}
