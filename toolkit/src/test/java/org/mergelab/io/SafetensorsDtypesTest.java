package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.testing.Reference;

/**
 * Every safetensors dtype, against the values torch gives for a file the safetensors library wrote
 * (reference/formats/all-dtypes.*), and files and tensors over 2 GiB, built as sparse files so the test writes only
 * a few bytes at offsets past 2^31 and 2^32.
 */
class SafetensorsDtypesTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryDtypeAsTorchWidensIt() throws IOException {
        JsonNode ref = Json.read(Reference.file("formats/all-dtypes.json"));
        try (SafetensorsFile f = SafetensorsFile.open(Reference.file("formats/all-dtypes.safetensors"))) {
            assertEquals(12, f.tensors().size());
            for (Iterator<Map.Entry<String, JsonNode>> it = ref.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                TensorInfo t = f.info(e.getKey());
                assertEquals(DType.parse(e.getValue().get("dtype").asText()), t.dtype(), e.getKey());
                assertArrayEquals(TorchFileTest.ints(e.getValue().get("float_bits")),
                        TorchFileTest.bits(f.read(e.getKey()).data()), e.getKey());
            }
        }
    }

    @Test
    void writesFloat8AndReadsItBack() throws IOException {
        Path file = dir.resolve("f8.safetensors");
        float[] x = {0f, 1f, -2.5f, 448f, 500f, 1e-3f, 57344f, 1e6f};
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                new TensorSpec("a", DType.F8_E4M3, new long[] {8}), new TensorSpec("b", DType.F8_E5M2, new long[] {8})))) {
            w.write("a", x);
            w.write("b", x);
            w.finish();
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            float[] a = f.read("a").data(), b = f.read("b").data();
            for (int i = 0; i < x.length; i++) {
                assertEquals(Half.f8e4m3ToFloat(Half.floatToF8e4m3(x[i])), a[i], 0f);
                assertEquals(Half.f8e5m2ToFloat(Half.floatToF8e5m2(x[i])), b[i], 0f);
            }
            assertEquals(448f, a[4], "500 is past e4m3fn's 448: saturates, as torch does");
            assertEquals(Float.POSITIVE_INFINITY, b[7]);
        }
    }

    /**
     * A 4.3 GB file: a small tensor, then one F16 tensor of 2.15 G elements (4.3 GB, over 2^32 bytes), then a last
     * small tensor. Only the marked elements are written; the rest of the file is a hole that reads as zeros.
     */
    @Test
    void readsTensorsAndFilesOver2GiB() throws IOException {
        long big = (1L << 31) + 1024; // elements of the F16 tensor: 4 GiB + 2 KiB
        String header = "{\"small\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"big\":{\"dtype\":\"F16\",\"shape\":[" + big + "],\"data_offsets\":[8," + (8 + 2 * big) + "]},"
                + "\"last\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + (8 + 2 * big) + "," + (20 + 2 * big)
                + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        Path file = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            put(ch, 0, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length));
            put(ch, 8, ByteBuffer.wrap(h));
            put(ch, dataStart, floats(1.5f, -2f));
            long bigStart = dataStart + 8;
            // Elements just past 2^30 (byte offset 2^31) and 2^31 (byte offset 2^32): 1.0 and -3.0 in fp16.
            put(ch, bigStart + 2 * (1L << 30), halves((short) 0x3C00, (short) 0x4000));
            put(ch, bigStart + 2 * (1L << 31), halves((short) 0xC200));
            put(ch, bigStart + 2 * big - 2, halves((short) 0x3800)); // last element 0.5
            put(ch, dataStart + 8 + 2 * big, floats(7f, 8f, 9f));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            TensorInfo t = f.info("big");
            assertEquals(2 * big, t.byteSize());
            float[] buf = new float[4];
            f.readFloats(t, (1L << 30) - 1, buf, 0, 4);
            assertArrayEquals(new float[] {0f, 1f, 2f, 0f}, buf);
            f.readFloats(t, (1L << 31), buf, 1, 1);
            assertEquals(-3f, buf[1]);
            f.readFloats(t, big - 2, buf, 0, 2);
            assertArrayEquals(new float[] {0f, 0.5f}, java.util.Arrays.copyOf(buf, 2));
            assertArrayEquals(new float[] {7f, 8f, 9f}, f.read("last").data(), "a tensor past 4 GiB in the file");
            assertArrayEquals(new float[] {1.5f, -2f}, f.read("small").data());
            CheckpointException e = assertThrows(CheckpointException.class, () -> f.map(t));
            assertTrue(e.getMessage().contains("in pieces"), e.getMessage());
            assertThrows(CheckpointException.class, () -> f.read("big"), "more elements than one array holds");
        }
        try (Checkpoint c = Checkpoint.open(file)) {
            float[] buf = new float[1];
            c.readChunk("big", 1L << 30, buf, 0, 1);
            assertEquals(1f, buf[0]);
        }
    }

    private static void put(FileChannel ch, long pos, ByteBuffer b) throws IOException {
        b.rewind();
        while (b.hasRemaining()) pos += ch.write(b, pos);
    }

    private static ByteBuffer floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b;
    }

    private static ByteBuffer halves(short... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short x : v) b.putShort(x);
        return b;
    }
}
