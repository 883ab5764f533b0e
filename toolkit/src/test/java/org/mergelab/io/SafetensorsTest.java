package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing safetensors files and sharded checkpoints, checked by parsing the raw bytes and by reading them back. */
class SafetensorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** The header as the safetensors format defines it: u64 little-endian length, then that many bytes of JSON. */
    record RawFile(long headerLen, String headerText, JsonNode header, byte[] data) {}

    static RawFile parseRaw(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String text = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        byte[] data = new byte[all.length - 8 - (int) n];
        System.arraycopy(all, 8 + (int) n, data, 0, data.length);
        return new RawFile(n, text, JSON.readTree(text), data);
    }

    private static long[] shape(long... d) {
        return d;
    }

    @Test
    void writesF32F16Bf16AndReadsThemBack() throws IOException {
        Path file = dir.resolve("t.safetensors");
        // Values exactly representable in each dtype, plus one that must round (hand-computed in HalfTest):
        // bf16(1/3) = 171/512, fp16(0.1) = 0.0999755859375.
        float[] f32 = {1f / 3, -2.5f, 0f, 1e-30f, 3.4e38f, -7f};
        float[] f16 = {0.1f, -65504f, 0.5f, 0x1p-24f};
        float[] bf16 = {1f / 3, -1.5f, 3f, 0.25f, 1e30f, -0f};
        List<TensorSpec> specs = List.of(new TensorSpec("a.f32", DType.F32, shape(2, 3)),
                new TensorSpec("b.f16", DType.F16, shape(4)), new TensorSpec("c.bf16", DType.BF16, shape(3, 2)));
        try (SafetensorsWriter w = SafetensorsWriter.create(file, specs)) {
            // Written out of declaration order: offsets are fixed by the header.
            w.write("c.bf16", bf16);
            w.write("a.f32", f32);
            w.write("b.f16", f16);
            w.finish();
        }

        // Raw layout: the header says where every tensor is, data regions are contiguous from offset 0.
        RawFile raw = parseRaw(file);
        JsonNode a = raw.header().get("a.f32");
        assertEquals("F32", a.get("dtype").asText());
        assertEquals(List.of(2L, 3L), longs(a.get("shape")));
        assertEquals(List.of(0L, 24L), longs(a.get("data_offsets")));
        assertEquals(List.of(24L, 32L), longs(raw.header().get("b.f16").get("data_offsets")));
        assertEquals(List.of(32L, 44L), longs(raw.header().get("c.bf16").get("data_offsets")));
        assertEquals(44, raw.data().length, "file is exactly 8 + header + data");
        ByteBuffer d = ByteBuffer.wrap(raw.data()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < f32.length; i++) assertEquals(f32[i], d.getFloat(4 * i));
        // fp16(0.1) = 0x2E66, -65504 = 0xFBFF, 0.5 = 0x3800, 2^-24 = 0x0001.
        assertEquals((short) 0x2E66, d.getShort(24));
        assertEquals((short) 0xFBFF, d.getShort(26));
        assertEquals((short) 0x3800, d.getShort(28));
        assertEquals((short) 0x0001, d.getShort(30));
        // bf16(1/3) = 0x3EAB, -1.5 = 0xBFC0, 3 = 0x4040, 0.25 = 0x3E80, -0 = 0x8000.
        assertEquals((short) 0x3EAB, d.getShort(32));
        assertEquals((short) 0xBFC0, d.getShort(34));
        assertEquals((short) 0x4040, d.getShort(36));
        assertEquals((short) 0x3E80, d.getShort(38));
        assertEquals((short) 0x8000, d.getShort(42));

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("a.f32", "b.f16", "c.bf16"), f.names());
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertArrayEquals(f32, f.read("a.f32").data());
            assertArrayEquals(new long[] {2, 3}, f.read("a.f32").shape());
            assertArrayEquals(new float[] {0.0999755859375f, -65504f, 0.5f, 0x1p-24f}, f.read("b.f16").data());
            float[] gotBf16 = f.read("c.bf16").data();
            assertArrayEquals(new float[] {171f / 512, -1.5f, 3f, 0.25f, Half.roundToBf16(1e30f), -0f}, gotBf16);
            assertEquals(0x80000000, Float.floatToRawIntBits(gotBf16[5]), "negative zero survives");
            assertEquals(DType.F16, f.info("b.f16").dtype());
        }
        // The same file through Checkpoint (a lone .safetensors file has an empty config).
        try (Checkpoint c = Checkpoint.open(file)) {
            assertEquals(List.of("a.f32", "b.f16", "c.bf16"), c.tensorNames());
            assertArrayEquals(f32, c.read("a.f32").data());
            assertEquals(0, c.config().size());
            assertEquals(44, c.byteSize());
        }
    }

    @Test
    void readBytesCopiesAnyRangeOfATensorsStoredBytes() throws IOException {
        Path file = dir.resolve("r.safetensors");
        float[] a = {1, 2, 3}, b = new float[1000];
        for (int i = 0; i < b.length; i++) b[i] = i * 0.5f - 100;
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new TensorSpec("a", DType.F32, shape(3)),
                new TensorSpec("b", DType.BF16, shape(10, 100))))) {
            w.write("a", a);
            w.write("b", b);
            w.finish();
        }
        byte[] data = parseRaw(file).data();
        try (Checkpoint c = Checkpoint.open(file); SafetensorsFile f = SafetensorsFile.open(file)) {
            // b starts after a's 12 bytes; ranges at its start, inside it and at its end.
            for (int[] range : new int[][] {{0, 2000}, {2, 6}, {1990, 10}, {777, 0}}) {
                ByteBuffer dst = ByteBuffer.allocateDirect(range[1] + 3);
                dst.position(3);
                f.readBytes(f.info("b"), range[0], dst);
                assertEquals(dst.capacity(), dst.position(), "the buffer is filled and its position advanced");
                for (int i = 0; i < range[1]; i++) {
                    assertEquals(data[12 + range[0] + i], dst.get(3 + i), "byte " + (range[0] + i) + " of b");
                }
            }
            // Through a ReadBuffer: the same bytes, in a window whose address agrees with the file position mod 64.
            long dataStart = java.nio.file.Files.size(file) - data.length;
            ReadBuffer into = new ReadBuffer();
            for (int[] range : new int[][] {{0, 2000}, {2, 6}, {1990, 10}, {777, 0}, {64, 1000}}) {
                long pos = f.filePosition(c.info("b"), range[0]);
                assertEquals(dataStart + 12 + range[0], pos, "file position of byte " + range[0] + " of b");
                ByteBuffer got = c.readBytes("b", range[0], range[1], into);
                assertEquals(0, got.position());
                assertEquals(range[1], got.limit());
                assertEquals(java.nio.ByteOrder.LITTLE_ENDIAN, got.order());
                assertEquals(pos % 64, got.alignmentOffset(0, 64), "window placed congruent to the file position");
                for (int i = 0; i < range[1]; i++) {
                    assertEquals(data[12 + range[0] + i], got.get(i), "byte " + (range[0] + i) + " of b");
                }
            }
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> c.readBytes("a", 8, 8, into));
            assertTrue(e.getMessage().contains("[8, 16)") && e.getMessage().contains("12"), e.getMessage());
        }
    }

    @Test
    void aTensorLargerThanTheFlushIntervalWrittenInChunksFromTwoThreadsReadsBackExactly() throws Exception {
        // 80 MB of float32: more than the writer's background flush interval, so flushes run while chunks arrive.
        // Through the page cache only: direct writes leave nothing to flush.
        int n = 20 << 20, chunk = 1 << 20;
        Path file = dir.resolve("big.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new TensorSpec("w", DType.F32, shape(n))),
                Map.of("format", "pt"), p -> null)) {
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                done.add(pool.submit(() -> {
                    float[] buf = new float[chunk];
                    for (int c; (c = next.getAndIncrement()) < n / chunk; ) {
                        for (int i = 0; i < chunk; i++) buf[i] = c * chunk + i;
                        w.writeChunk("w", (long) c * chunk, buf, chunk);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) f.get();
            pool.shutdown();
            w.markWritten("w");
            w.finish();
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            float[] back = f.read("w").data();
            assertEquals(n, back.length);
            for (int i = 0; i < n; i++) {
                if (back[i] != (float) i) assertEquals((float) i, back[i], "element " + i);
            }
        }
    }

    @Test
    void headerIsPaddedTo8BytesWithSpacesAndCarriesFormatPt() throws IOException {
        // Vary the name length so the JSON length takes every residue mod 8.
        for (int len = 1; len <= 16; len++) {
            Path file = dir.resolve("pad" + len + ".safetensors");
            String name = "x".repeat(len);
            try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new TensorSpec(name, DType.F32, shape(1))))) {
                w.write(name, new float[] {42f});
                w.finish();
            }
            RawFile raw = parseRaw(file);
            assertEquals(0, raw.headerLen() % 8, "header length " + raw.headerLen() + " for name length " + len);
            assertEquals(0, (8 + raw.headerLen()) % 8, "data starts on an 8-byte boundary");
            String trimmed = raw.headerText().stripTrailing();
            assertTrue(raw.headerText().substring(trimmed.length()).chars().allMatch(c -> c == ' '),
                    "padding is spaces");
            assertTrue(raw.headerText().length() - trimmed.length() < 8, "no more padding than needed");
            assertEquals("pt", raw.header().get("__metadata__").get("format").asText());
            assertEquals(1, raw.header().get("__metadata__").size());
            assertEquals(42f, ByteBuffer.wrap(raw.data()).order(ByteOrder.LITTLE_ENDIAN).getFloat(0));
        }
    }

    @Test
    void finishRefusesUnwrittenTensors() throws IOException {
        Path file = dir.resolve("partial.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new TensorSpec("a", DType.F32, shape(2)),
                new TensorSpec("b", DType.F32, shape(2))))) {
            w.write("a", new float[] {1, 2});
            assertEquals(List.of("b"), w.missing());
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, w::finish);
            assertTrue(e.getMessage().contains("b"), e.getMessage());
        }
    }

    @Test
    void readsF64ByWideningToFloat() throws IOException {
        // Hand-built file: one F64 tensor of shape [3] = 24 bytes.
        double[] values = {1.5, -2.0, 1e-3};
        ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) data.putDouble(v);
        Path file = CorruptFiles.write(dir.resolve("f64.safetensors"),
                "{\"x\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}", data.array());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.F64, f.info("x").dtype());
            assertArrayEquals(new float[] {1.5f, -2f, (float) 1e-3}, f.read("x").data());
        }
    }

    @Test
    void shardsByBytesWithTheHuggingFaceNamesAndIndex() throws IOException {
        // Limit 100 bytes. a (40 B) + b (40 B) = 80 fit; c (400 B) would overflow -> new shard; c alone exceeds the
        // limit and still gets a shard of its own; d (20 B) would push c's shard past the limit -> third shard.
        List<TensorSpec> specs = List.of(new TensorSpec("a", DType.F32, shape(10)),
                new TensorSpec("b", DType.F32, shape(2, 5)), new TensorSpec("c", DType.F32, shape(100)),
                new TensorSpec("d", DType.BF16, shape(10)));
        float[][] values = new float[4][];
        for (int k = 0; k < 4; k++) {
            values[k] = new float[(int) specs.get(k).numel()];
            for (int i = 0; i < values[k].length; i++) values[k][i] = k * 1000 + i; // small integers: exact in f32
        }
        // d is bf16 (8 significant bits): -5..4 are exact.
        for (int i = 0; i < values[3].length; i++) values[3][i] = i - 5;
        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.create(dir, specs, 100)) {
            assertEquals(3, w.shardCount());
            for (int k = 3; k >= 0; k--) w.write(specs.get(k).name(), values[k]);
            w.finish(Map.of("note", "test"));
        }
        List<String> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json"), files);
        assertEquals(List.of("a", "b"), names(parseRaw(dir.resolve("model-00001-of-00003.safetensors")).header()));
        assertEquals(List.of("c"), names(parseRaw(dir.resolve("model-00002-of-00003.safetensors")).header()));
        assertEquals(List.of("d"), names(parseRaw(dir.resolve("model-00003-of-00003.safetensors")).header()));

        JsonNode index = JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
        assertEquals(40 + 40 + 400 + 20, index.get("metadata").get("total_size").asLong());
        assertEquals("test", index.get("metadata").get("note").asText());
        JsonNode map = index.get("weight_map");
        assertEquals(4, map.size());
        assertEquals("model-00001-of-00003.safetensors", map.get("a").asText());
        assertEquals("model-00001-of-00003.safetensors", map.get("b").asText());
        assertEquals("model-00002-of-00003.safetensors", map.get("c").asText());
        assertEquals("model-00003-of-00003.safetensors", map.get("d").asText());

        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("a", "b", "c", "d"), c.tensorNames());
            for (int k = 0; k < 4; k++) assertArrayEquals(values[k], c.read(specs.get(k).name()).data());
            assertEquals("model-00002-of-00003.safetensors", c.info("c").file().getFileName().toString());
            assertEquals(DType.BF16, c.info("d").dtype());
            assertEquals(500, c.byteSize());
        }
    }

    @Test
    void aShardThatExactlyFillsTheLimitIsKeptTogetherAndOneShardNeedsNoIndex() throws IOException {
        // 40 + 40 = 80 bytes = limit: not over it, so one shard, written as model.safetensors without an index.
        List<TensorSpec> specs = List.of(new TensorSpec("a", DType.F32, shape(10)), new TensorSpec("b", DType.F32, shape(10)));
        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.create(dir, specs, 80)) {
            assertEquals(1, w.shardCount());
            w.write("a", new float[10]);
            w.write("b", new float[10]);
            w.finish(Map.of());
        }
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.index.json")));
        // One byte less and b moves to a second shard.
        Path two = dir.resolve("two");
        Files.createDirectory(two);
        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.create(two, specs, 79)) {
            assertEquals(2, w.shardCount());
        }
    }

    private static List<Long> longs(JsonNode arr) {
        List<Long> out = new ArrayList<>();
        arr.forEach(n -> out.add(n.asLong()));
        return out;
    }

    private static List<String> names(JsonNode header) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = header.fieldNames(); it.hasNext(); ) {
            String n = it.next();
            if (!n.equals("__metadata__")) out.add(n);
        }
        return out;
    }
}
