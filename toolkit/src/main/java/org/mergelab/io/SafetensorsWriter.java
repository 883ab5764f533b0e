package org.mergelab.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes one safetensors file whose tensors are declared up front. The header (with {@code {"format":"pt"}}
 * metadata, padded with spaces so the data starts on an 8-byte boundary) is written at creation; each tensor is
 * then written at its own offset, in any order and from any thread, so a merge can stream results as they finish.
 */
public final class SafetensorsWriter implements ShardFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private final BitSet written = new BitSet();

    private record Slot(int index, TensorSpec spec, long offset) {}

    /**
     * Bytes written between background flushes. A merge writes gigabytes; flushing them as they come, on a thread of
     * its own, lets the disk work while the merge computes, so the flush at {@link #finish} has little left to do
     * (and the kernel never holds the whole output as dirty pages).
     */
    private static final long FLUSH_EVERY = 64L << 20;
    private final AtomicLong unflushed = new AtomicLong();
    private final AtomicBoolean flushing = new AtomicBoolean();
    private volatile IOException flushFailure;

    private SafetensorsWriter(Path path, FileChannel channel, long dataStart, List<TensorSpec> specs, long[] offsets) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        for (int i = 0; i < specs.size(); i++) {
            slots.put(specs.get(i).name(), new Slot(i, specs.get(i), offsets[i]));
        }
    }

    /** Creates {@code path} (replacing it) and writes the header for {@code specs}, laid out in the given order. */
    public static SafetensorsWriter create(Path path, List<TensorSpec> specs) throws IOException {
        return create(path, specs, Map.of("format", "pt"));
    }

    public static SafetensorsWriter create(Path path, List<TensorSpec> specs, Map<String, String> metadata)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long[] offsets = new long[specs.size()];
        long offset = 0;
        for (int i = 0; i < specs.size(); i++) {
            TensorSpec s = specs.get(i);
            if (header.has(s.name())) throw new IllegalArgumentException("tensor '" + s.name() + "' declared twice");
            ObjectNode e = header.putObject(s.name());
            e.put("dtype", s.dtype().safetensorsName());
            ArrayNode shape = e.putArray("shape");
            for (long d : s.shape()) shape.add(d);
            ArrayNode off = e.putArray("data_offsets");
            offsets[i] = offset;
            off.add(offset);
            offset += s.byteSize();
            off.add(offset);
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.READ);
        try {
            while (head.hasRemaining()) ch.write(head, head.position());
            // Reserve the whole file now so positional writes from several threads never race on its length.
            if (offset > 0) {
                ch.write(ByteBuffer.allocate(1), 8L + padded + offset - 1);
            }
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return new SafetensorsWriter(path, ch, 8L + padded, specs, offsets);
    }

    public Path path() { return path; }

    public boolean declares(String name) {
        return slots.containsKey(name);
    }

    /** Encodes float32 data as the declared dtype (round to nearest even) and writes it. Thread-safe. */
    public void write(String name, float[] data) throws IOException {
        Slot slot = slot(name);
        TensorSpec s = slot.spec();
        long n = s.numel();
        if (data.length < n) {
            throw new IllegalArgumentException(name + ": expected " + n + " values, got " + data.length);
        }
        encodeAndWrite(slot, 0, data, 0, (int) n);
        synchronized (written) {
            written.set(slot.index());
        }
    }

    /** Per-thread direct buffer: encoded chunks go straight to the file without an intermediate heap copy. */
    private static final int WRITE_CHUNK_BYTES = 1 << 22;
    private static final ThreadLocal<ByteBuffer> SCRATCH =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(WRITE_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN));

    private void encodeAndWrite(Slot slot, long elementOffset, float[] data, int from, int n) throws IOException {
        DType dtype = slot.spec().dtype();
        int perChunk = WRITE_CHUNK_BYTES / dtype.size();
        ByteBuffer buf = SCRATCH.get();
        long pos = dataStart + slot.offset() + elementOffset * dtype.size();
        for (int off = 0; off < n; off += perChunk) {
            int len = Math.min(perChunk, n - off);
            buf.clear();
            Conversions.fromFloats(data, from + off, len, dtype, buf);
            buf.position(0).limit(len * dtype.size());
            while (buf.hasRemaining()) pos += channel.write(buf, pos);
            wrote(len * (long) dtype.size());
        }
    }

    /** Counts written bytes and starts a background flush every {@link #FLUSH_EVERY} of them. */
    private void wrote(long bytes) {
        if (unflushed.addAndGet(bytes) < FLUSH_EVERY || !flushing.compareAndSet(false, true)) return;
        unflushed.set(0);
        Thread t = new Thread(() -> {
            try {
                channel.force(false);
            } catch (ClosedChannelException e) {
                // closed by finish() or close(): nothing left for this flush to do
            } catch (IOException e) {
                flushFailure = e;
            } finally {
                flushing.set(false);
            }
        }, "mergelab-flush");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Encodes and writes part of a tensor: {@code n} values from {@code data} at element {@code offset}. For tensors
     * too large to hold as one float array; the tensor counts as written once every element has been written
     * exactly once (the caller's responsibility) and {@link #markWritten} is called.
     */
    public void writeChunk(String name, long offset, float[] data, int n) throws IOException {
        Slot slot = slot(name);
        TensorSpec s = slot.spec();
        if (offset < 0 || offset + n > s.numel()) {
            throw new IllegalArgumentException(name + ": chunk [" + offset + ", " + (offset + n) + ") outside its "
                    + s.numel() + " elements");
        }
        encodeAndWrite(slot, offset, data, 0, n);
    }

    /** Records that a tensor written with {@link #writeChunk} is complete. */
    public void markWritten(String name) {
        Slot slot = slot(name);
        synchronized (written) {
            written.set(slot.index());
        }
    }

    /** Writes already-encoded little-endian bytes (for integer tensors, which are copied, never converted). */
    public void writeRaw(String name, ByteBuffer bytes) throws IOException {
        Slot slot = slot(name);
        if (bytes.remaining() != slot.spec().byteSize()) {
            throw new IllegalArgumentException(name + ": expected " + slot.spec().byteSize() + " bytes, got "
                    + bytes.remaining());
        }
        writeBytes(slot, bytes.duplicate());
    }

    private Slot slot(String name) {
        Slot slot = slots.get(name);
        if (slot == null) throw new IllegalArgumentException(path + ": tensor '" + name + "' was not declared");
        return slot;
    }

    private void writeBytes(Slot slot, ByteBuffer buf) throws IOException {
        long pos = dataStart + slot.offset();
        buf.position(0);
        long n = buf.remaining();
        while (buf.hasRemaining()) {
            pos += channel.write(buf, pos);
        }
        wrote(n);
        synchronized (written) {
            written.set(slot.index());
        }
    }

    /** Tensors declared but not yet written, in declaration order. */
    public List<String> missing() {
        synchronized (written) {
            return slots.values().stream().filter(s -> !written.get(s.index())).map(s -> s.spec().name()).toList();
        }
    }

    /** Flushes to disk; fails (naming the tensors) if any declared tensor was never written. */
    public void finish() throws IOException {
        List<String> missing = missing();
        if (!missing.isEmpty()) {
            throw new IOException(path + ": " + missing.size() + " declared tensors were never written, first "
                    + missing.get(0));
        }
        channel.force(true);
        if (flushFailure != null) throw new IOException(path + ": flushing to disk failed", flushFailure);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
