package org.mergelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file, opened lazily: the header is read and checked when the file is opened, and each tensor's
 * bytes are memory-mapped only when that tensor is read (in windows of at most 1 GiB, so files and tensors over
 * 2 GiB read like any other). Format: an 8-byte little-endian header length N, N bytes
 * of JSON ({@code name -> {dtype, shape, data_offsets}} plus optional {@code __metadata__}), then the data region.
 */
public final class SafetensorsFile implements TensorFile {
    /** Larger headers are refused: real ones are kilobytes, and a garbage length must not allocate gigabytes. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot open safetensors file: " + e.getMessage(), e);
        }
        try {
            return readHeader(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile readHeader(Path path, FileChannel ch) {
        try {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new CheckpointException(path + ": not a safetensors file (" + fileSize
                        + " bytes, shorter than the 8-byte header length)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
                throw new CheckpointException(path + ": header length " + Long.toUnsignedString(headerLen)
                        + " is not plausible (file is " + fileSize + " bytes); not a safetensors file or corrupt");
            }
            if (8 + headerLen > fileSize) {
                throw new CheckpointException(path + ": header claims " + headerLen + " bytes but the file has only "
                        + (fileSize - 8) + " after the length; the file is truncated");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8);
            JsonNode header;
            try {
                header = JSON.readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new CheckpointException(path + ": header is not valid JSON: " + e.getMessage(), e);
            }
            if (header == null || !header.isObject()) {
                throw new CheckpointException(path + ": header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataSize = fileSize - dataStart;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                if (name.equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(name, parseEntry(path, name, e.getValue(), dataSize));
            }
            checkLayout(path, tensors, dataSize);
            return new SafetensorsFile(path, ch, dataStart, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read safetensors header: " + e.getMessage(), e);
        }
    }

    /** Tensors must tile the data region without gaps or overlaps, as the safetensors library itself requires. */
    private static void checkLayout(Path path, Map<String, TensorInfo> tensors, long dataSize) {
        List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(java.util.Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        for (TensorInfo t : byOffset) {
            if (t.begin() != expected) {
                throw new CheckpointException(path + ": tensor '" + t.name() + "' starts at byte " + t.begin()
                        + " of the data but the previous tensor ends at " + expected
                        + (t.begin() < expected ? " (the tensors overlap)" : " (a gap)") + "; the header is corrupt");
            }
            expected = t.end();
        }
        if (expected != dataSize) {
            throw new CheckpointException(path + ": the tensors cover " + expected + " bytes but the data region has "
                    + dataSize + (dataSize > expected ? " (trailing bytes)" : ""));
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode entry, long dataSize) {
        String where = path + ": tensor '" + name + "'";
        JsonNode dt = entry.get("dtype");
        JsonNode sh = entry.get("shape");
        JsonNode off = entry.get("data_offsets");
        if (dt == null || sh == null || off == null || !sh.isArray() || !off.isArray() || off.size() != 2) {
            throw new CheckpointException(where + ": header entry needs dtype, shape and two data_offsets");
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensors(dt.asText());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(where + ": " + e.getMessage());
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!sh.get(i).canConvertToLong() || sh.get(i).asLong() < 0) {
                throw new CheckpointException(where + ": shape " + sh + " has an invalid dimension");
            }
            shape[i] = sh.get(i).asLong();
        }
        long begin = off.get(0).asLong(-1);
        long end = off.get(1).asLong(-1);
        if (begin < 0 || end < begin) {
            throw new CheckpointException(where + ": data_offsets " + off + " are not an increasing pair");
        }
        if (end > dataSize) {
            throw new CheckpointException(where + ": data_offsets " + off + " reach past the end of the data ("
                    + dataSize + " bytes); the file is truncated or corrupt");
        }
        long expected;
        try {
            expected = Math.multiplyExact(TensorInfo.numel(shape), (long) dtype.size());
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + ": shape " + sh + " overflows");
        }
        if (end - begin != expected) {
            throw new CheckpointException(where + ": " + dtype + " " + TensorInfo.shapeString(shape) + " needs "
                    + expected + " bytes but data_offsets " + off + " give " + (end - begin));
        }
        return new TensorInfo(name, path, dtype, shape, begin, end);
    }

    @Override
    public Path path() { return path; }

    @Override
    public Map<String, TensorInfo> tensors() { return tensors; }

    public Map<String, String> metadata() { return metadata; }

    public List<String> names() { return new ArrayList<>(tensors.keySet()); }

    /** Bytes mapped at once when a read spans more: keeps every mapping well inside a ByteBuffer's int range. */
    static final int WINDOW_BYTES = 1 << 30;

    /** The tensor's raw bytes, memory-mapped, little-endian (tensors up to 2 GiB; larger ones read in pieces). */
    @Override
    public ByteBuffer map(TensorInfo t) {
        if (t.byteSize() > Integer.MAX_VALUE) {
            throw new CheckpointException(path + ": tensor '" + t.name() + "' has " + t.byteSize()
                    + " bytes, more than one buffer maps; read it in pieces with readFloats(t, offset, ...)"
                    + " or mapBytes(t, from, length)");
        }
        return mapBytes(t, 0, t.byteSize());
    }

    /** {@code length} bytes of a tensor from byte {@code from} of its data, memory-mapped, little-endian. */
    public ByteBuffer mapBytes(TensorInfo t, long from, long length) {
        if (from < 0 || length < 0 || from + length > t.byteSize() || length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(t + ": bytes [" + from + ", " + (from + length) + ") are outside its "
                    + t.byteSize() + " bytes or too many to map at once");
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin() + from, length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot map tensor '" + t.name() + "': " + e.getMessage(), e);
        }
    }

    @Override
    public void readFloats(TensorInfo t, long offset, float[] dst, int dstOff, int n) {
        if (offset < 0 || n < 0 || offset + n > t.numel()) {
            throw new IllegalArgumentException(t + ": elements [" + offset + ", " + (offset + n) + ") are outside its "
                    + t.numel());
        }
        if (dstOff < 0 || dstOff + n > dst.length) {
            throw new IllegalArgumentException("buffer of " + dst.length + " floats cannot take " + n + " at " + dstOff);
        }
        int size = t.dtype().size();
        int perRead = READ_BYTES / size;
        ReadBuffer buf = READ_BUFFER.get();
        for (int done = 0; done < n; ) {
            int k = Math.min(perRead, n - done);
            ByteBuffer bytes = readBytes(t, (offset + done) * size, k * size, buf);
            Conversions.toFloats(bytes, t.dtype(), dst, dstOff + done, k);
            done += k;
        }
    }

    @Override
    public long filePosition(TensorInfo t, long from) {
        return dataStart + t.begin() + from;
    }

    @Override
    public void readBytes(TensorInfo t, long from, ByteBuffer dst) {
        TensorBytes.checkRange(t, from, dst.remaining());
        TensorBytes.read(path, channel, t, filePosition(t, from), dst);
    }

    /**
     * Reads go through a per-thread direct buffer with positional reads rather than fresh memory maps: a merge reads
     * each tensor several times, and every new mapping would fault its pages in again.
     */
    private static final int READ_BYTES = 1 << 22;
    private static final ThreadLocal<ReadBuffer> READ_BUFFER = ThreadLocal.withInitial(ReadBuffer::new);

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing a read-only channel loses nothing
        }
    }
}
