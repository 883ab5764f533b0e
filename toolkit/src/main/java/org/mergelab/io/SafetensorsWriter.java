package org.mergelab.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes one safetensors file whose tensors are declared up front. The header (with {@code {"format":"pt"}}
 * metadata, padded with spaces so the data starts on an 8-byte boundary) is written at creation; each tensor is
 * then written at its own offset, in any order and from any thread, so a merge can stream results as they finish.
 *
 * <p>Where the file system takes them (Linux's {@code O_DIRECT}), the whole blocks of each encoded chunk go to the disk
 * straight from the writer's buffer, past the page cache; only the partial blocks at a chunk's two ends (shared with
 * the neighbouring tensor or the header) go through the cache. A merge writes gigabytes it will not read back: copied
 * into the page cache, they cost a CPU copy per byte and later a writeback, and they push the merge's own inputs out of
 * the cache. {@code -Dmergelab.directWrites=false} writes everything through the cache.
 */
public final class SafetensorsWriter implements ShardFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    /** The same file opened for direct writes of whole aligned blocks; null where the file system refuses them. */
    private volatile FileChannel direct;
    private final long dataStart;
    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private final BitSet written = new BitSet();

    private record Slot(int index, TensorSpec spec, long offset) {}

    /**
     * Bytes written through the page cache between background flushes. A merge writes gigabytes; flushing them as they
     * come, on a thread of its own, lets the disk work while the merge computes, so the flush at {@link #finish} has
     * little left to do (and the kernel never holds the whole output as dirty pages). Direct writes leave no dirty
     * pages and do not count.
     */
    private static final long FLUSH_EVERY = 64L << 20;
    private final AtomicLong unflushed = new AtomicLong();
    private final AtomicBoolean flushing = new AtomicBoolean();
    private volatile IOException flushFailure;

    private SafetensorsWriter(Path path, FileChannel channel, FileChannel direct, long dataStart, List<TensorSpec> specs,
                              long[] offsets) {
        this.path = path;
        this.channel = channel;
        this.direct = direct;
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
        return create(path, specs, metadata, SafetensorsWriter::openDirect);
    }

    /** How the writer gets its channel for direct writes (null: none); tests give ones that fail. */
    interface DirectOpener {
        FileChannel open(Path path);
    }

    static SafetensorsWriter create(Path path, List<TensorSpec> specs, Map<String, String> metadata,
                                    DirectOpener directOpener) throws IOException {
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
        return new SafetensorsWriter(path, ch, directOpener.open(path), 8L + padded, specs, offsets);
    }

    /** Whether the writers of this JVM may write past the page cache (where the file system allows). */
    static final boolean DIRECT_WRITES =
            Boolean.parseBoolean(System.getProperty("mergelab.directWrites", "true"));
    /** The alignment the scratch buffers provide: file systems whose blocks are larger are written through the cache. */
    static final int DIRECT_ALIGNMENT = 4096;

    /** {@code path} opened for direct writes, or null where they are turned off or the file system refuses them. */
    static FileChannel openDirect(Path path) {
        if (!DIRECT_WRITES) return null;
        try {
            long block = java.nio.file.Files.getFileStore(path).getBlockSize();
            if (block <= 0 || DIRECT_ALIGNMENT % block != 0) return null;
            return FileChannel.open(path, StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null; // tmpfs before Linux 6.6, network and FUSE file systems, other platforms: the cache it is
        }
    }

    /** Whether whole blocks go past the page cache (false once a direct write has failed). */
    public boolean writesDirect() {
        return direct != null;
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

    /**
     * Per-thread direct buffer, block-aligned: encoded chunks go straight to the file without an intermediate heap
     * copy. Each chunk is encoded at the buffer offset that matches its file position modulo the block size, so its
     * whole blocks start on an aligned address, as direct writes require.
     */
    private static final int WRITE_CHUNK_BYTES = 1 << 22;
    private static final ThreadLocal<ByteBuffer> SCRATCH = ThreadLocal.withInitial(SafetensorsWriter::newScratch);

    private void encodeAndWrite(Slot slot, long elementOffset, float[] data, int from, int n) throws IOException {
        DType dtype = slot.spec().dtype();
        int perChunk = WRITE_CHUNK_BYTES / dtype.size();
        long pos = dataStart + slot.offset() + elementOffset * dtype.size();
        for (int off = 0; off < n; off += perChunk) {
            checkWrites();
            int len = Math.min(perChunk, n - off);
            int lead = (int) (pos % DIRECT_ALIGNMENT);
            int bytes = len * dtype.size();
            boolean handOver = direct != null;
            ByteBuffer buf = handOver ? takeBuffer() : SCRATCH.get();
            buf.clear().position(lead);
            Conversions.fromFloats(data, from + off, len, dtype, buf);
            if (handOver) {
                long at = pos;
                WRITES.execute(() -> {
                    try {
                        if (!closed && writeFailure == null) writeAt(buf, lead, bytes, at);
                    } catch (IOException | RuntimeException e) {
                        if (writeFailure == null) writeFailure = e;
                    } finally {
                        POOL.offer(buf);
                    }
                });
            } else {
                writeAt(buf, lead, bytes, pos);
            }
            pos += bytes;
        }
    }

    /**
     * Direct writes wait for the disk, so the merge's threads hand their encoded chunks to one writer thread and go on
     * computing; buffers for the chunks in flight come from a small pool shared by every writer, which also bounds the
     * memory they take.
     */
    private static final ExecutorService WRITES = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "mergelab-write");
        t.setDaemon(true);
        return t;
    });
    private static final int POOL_SIZE = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    private static final BlockingQueue<ByteBuffer> POOL = new ArrayBlockingQueue<>(POOL_SIZE);
    private static final AtomicInteger POOL_ALLOCATED = new AtomicInteger();
    private volatile Throwable writeFailure;
    private volatile boolean closed;

    private static ByteBuffer newScratch() {
        return ByteBuffer.allocateDirect(WRITE_CHUNK_BYTES + 2 * DIRECT_ALIGNMENT).alignedSlice(DIRECT_ALIGNMENT)
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer takeBuffer() throws IOException {
        ByteBuffer b = POOL.poll();
        if (b != null) return b;
        if (POOL_ALLOCATED.incrementAndGet() <= POOL_SIZE) return newScratch();
        POOL_ALLOCATED.decrementAndGet();
        try {
            return POOL.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to write to the disk");
        }
    }

    /** Waits until every chunk handed to the writer thread so far has been written. */
    private static void awaitWrites() throws IOException {
        try {
            WRITES.submit(() -> {}).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for writes to finish");
        } catch (ExecutionException e) {
            throw new IOException(e.getCause());
        }
    }

    /** Reports, in the caller's thread, a failure of a chunk written in the background. */
    private void checkWrites() throws IOException {
        Throwable f = writeFailure;
        if (f != null) throw new IOException(path + ": writing to the disk failed: " + f.getMessage(), f);
    }

    /**
     * Writes {@code buf[at, at + bytes)} at file position {@code pos}, where {@code at == pos % DIRECT_ALIGNMENT}:
     * the whole blocks directly where possible, the partial blocks at either end (which a neighbouring chunk or the
     * header shares) through the page cache, so no block is ever written both ways at once.
     */
    private void writeAt(ByteBuffer buf, int at, int bytes, long pos) throws IOException {
        FileChannel d = direct;
        long end = pos + bytes;
        long first = Math.floorDiv(pos + DIRECT_ALIGNMENT - 1, DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
        long last = Math.floorDiv(end, DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
        if (d == null || last <= first) {
            writeCached(buf, at, bytes, pos);
            return;
        }
        int head = (int) (first - pos), body = (int) (last - first);
        if (head > 0) writeCached(buf, at, head, pos);
        try {
            writeFully(d, buf, at + head, body, first);
        } catch (IOException e) {
            // A file system that opened for direct writes but refuses them: the cache takes this and every later
            // chunk; a real failure (a full disk) fails again there and is reported.
            direct = null;
            writeCached(buf, at + head, body, first);
        }
        if (end > last) writeCached(buf, at + head + body, (int) (end - last), last);
    }

    /** Writes through the page cache, counting the bytes towards the next background flush (direct ones need none). */
    private void writeCached(ByteBuffer buf, int at, int bytes, long pos) throws IOException {
        writeFully(channel, buf, at, bytes, pos);
        wrote(bytes);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, int at, int bytes, long pos) throws IOException {
        ByteBuffer b = buf.duplicate();
        b.limit(at + bytes).position(at);
        while (b.hasRemaining()) pos += ch.write(b, pos);
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
        awaitWrites();
        checkWrites();
        channel.force(true);
        if (flushFailure != null) throw new IOException(path + ": flushing to disk failed", flushFailure);
    }

    @Override
    public void close() throws IOException {
        closed = true; // chunks still queued are dropped: after finish() there are none, on failure nobody wants them
        try {
            if (direct != null) awaitWrites();
        } finally {
            closeChannels();
        }
    }

    private void closeChannels() throws IOException {
        try {
            FileChannel d = direct;
            if (d != null) d.close();
        } finally {
            channel.close();
        }
    }
}
