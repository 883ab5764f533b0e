package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer's direct writes: whole blocks past the page cache, partial blocks at chunk ends through it. Whatever the
 * offsets, the file must be the one the page cache alone would have written, and a direct write that fails must
 * either fall back to the cache (a channel that refuses) or fail the file by name (anything else).
 */
class SafetensorsDirectWriteTest {
    @TempDir
    Path dir;

    /**
     * Tensors whose sizes put every later tensor at an odd offset, some smaller than a block, one exactly a block,
     * and two larger than the writer's 4 MiB chunk; pieces of a prime number of elements, from two threads in a
     * shuffled order, so chunk ends fall anywhere inside blocks.
     */
    private static final List<TensorSpec> SPECS = List.of(
            new TensorSpec("a", DType.BF16, new long[] {1}),
            new TensorSpec("b", DType.F32, new long[] {3}),
            new TensorSpec("c", DType.BF16, new long[] {2047}),
            new TensorSpec("d", DType.BF16, new long[] {2048}),
            new TensorSpec("e", DType.F16, new long[] {5000}),
            new TensorSpec("f", DType.BF16, new long[] {1500, 2001}),
            new TensorSpec("g", DType.F32, new long[] {1_300_001}),
            new TensorSpec("h", DType.BF16, new long[] {4099}));
    private static final int PIECE = 100_003;

    private static float value(String tensor, long i) {
        return (float) Math.sin(tensor.charAt(0) * 1000.0 + i) * 3f;
    }

    private static void writeAll(SafetensorsWriter w) throws Exception {
        List<long[]> pieces = new ArrayList<>();
        for (int t = 0; t < SPECS.size(); t++) {
            for (long at = 0; at < SPECS.get(t).numel(); at += PIECE) pieces.add(new long[] {t, at});
        }
        Collections.shuffle(pieces, new Random(7));
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                done.add(pool.submit(() -> {
                    float[] buf = new float[PIECE];
                    for (int j; (j = next.getAndIncrement()) < pieces.size(); ) {
                        TensorSpec s = SPECS.get((int) pieces.get(j)[0]);
                        long at = pieces.get(j)[1];
                        int n = (int) Math.min(PIECE, s.numel() - at);
                        for (int i = 0; i < n; i++) buf[i] = value(s.name(), at + i);
                        w.writeChunk(s.name(), at, buf, n);
                        java.util.Arrays.fill(buf, Float.NaN); // the writer must have taken the values already
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof IOException io) throw io;
                    throw e;
                }
            }
        } finally {
            pool.shutdown();
        }
        for (TensorSpec s : SPECS) w.markWritten(s.name());
    }

    private Path write(String name, SafetensorsWriter.DirectOpener opener, boolean expectDirectAtEnd) throws Exception {
        Path file = dir.resolve(name);
        try (SafetensorsWriter w = SafetensorsWriter.create(file, SPECS, Map.of("format", "pt"), opener)) {
            writeAll(w);
            w.finish();
            assertEquals(expectDirectAtEnd, w.writesDirect(), name + ": direct writes at the end");
        }
        return file;
    }

    /** Whether a block written directly to a file in the temporary folder lands (some file systems open, then refuse). */
    private boolean fileSystemTakesDirectWrites() throws IOException {
        Path probe = dir.resolve("probe");
        Files.write(probe, new byte[2 * SafetensorsWriter.DIRECT_ALIGNMENT]);
        try (FileChannel ch = SafetensorsWriter.openDirect(probe)) {
            if (ch == null) return false;
            java.nio.ByteBuffer block = java.nio.ByteBuffer.allocateDirect(2 * SafetensorsWriter.DIRECT_ALIGNMENT)
                    .alignedSlice(SafetensorsWriter.DIRECT_ALIGNMENT);
            block.limit(SafetensorsWriter.DIRECT_ALIGNMENT);
            ch.write(block, 0);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void directWritesGiveTheFileThePageCacheWouldHaveWritten() throws Exception {
        // Where the temporary folder's file system takes direct writes, none of them may have failed over to the
        // cache (a misaligned block would): the writer must still be writing directly at the end.
        Path direct = write("direct.safetensors", SafetensorsWriter::openDirect, fileSystemTakesDirectWrites());
        Path cached = write("cached.safetensors", p -> null, false);
        assertEquals(-1, Files.mismatch(direct, cached), "first differing byte");
        try (SafetensorsFile f = SafetensorsFile.open(direct)) {
            for (TensorSpec s : SPECS) {
                float[] back = f.read(s.name()).data();
                for (int i = 0; i < back.length; i++) {
                    float want = s.dtype() == DType.F32 ? value(s.name(), i)
                            : s.dtype() == DType.BF16 ? Half.bf16ToFloat(Half.floatToBf16(value(s.name(), i)))
                            : Half.fp16ToFloat(Half.floatToFp16(value(s.name(), i)));
                    if (back[i] != want) assertEquals(want, back[i], s.name() + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void aDirectChannelThatRefusesHandsItsBlocksToThePageCache() throws Exception {
        Path closed = dir.resolve("closed");
        Files.write(closed, new byte[1]);
        // A closed channel throws ClosedChannelException, an IOException, as a file system that opens for direct
        // writes and then refuses them does.
        Path fallen = write("fallen.safetensors", p -> {
            try {
                FileChannel ch = FileChannel.open(closed, StandardOpenOption.WRITE);
                ch.close();
                return ch;
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, false);
        Path cached = write("cached.safetensors", p -> null, false);
        assertEquals(-1, Files.mismatch(fallen, cached), "first differing byte");
    }

    @Test
    void aBackgroundWriteThatFailsFailsTheFileByName() throws Exception {
        Path file = dir.resolve("failing.safetensors");
        IOException e;
        try (SafetensorsWriter w = SafetensorsWriter.create(file, SPECS, Map.of("format", "pt"), p -> {
            try {
                return FileChannel.open(p, StandardOpenOption.READ); // writes throw NonWritableChannelException
            } catch (IOException x) {
                throw new RuntimeException(x);
            }
        })) {
            assertTrue(w.writesDirect());
            e = assertThrows(IOException.class, () -> {
                writeAll(w);
                w.finish();
            });
        }
        assertTrue(e.getMessage().contains("failing.safetensors"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}
