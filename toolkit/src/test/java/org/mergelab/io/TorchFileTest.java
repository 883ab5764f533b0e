package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.testing.Reference;

/**
 * PyTorch .bin checkpoints: files torch.save wrote (reference/formats/torch, by make_format_fixtures.py) read to the
 * exact values torch gives, sharded folders read through their index, files our TorchWriter writes read back, and
 * the hostile-pickle corpus (reference/formats/hostile) refused, each with a message naming what it tried.
 */
class TorchFileTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryTensorOfATorchSaveFileAsTorchDoes() throws IOException {
        JsonNode ref = Json.read(Reference.file("formats/torch/state_dict.json"));
        for (String file : List.of("state_dict.bin", "zip64.bin")) {
            try (TorchFile f = TorchFile.open(Reference.file("formats/torch/" + file))) {
                assertEquals(names(ref), new ArrayList<>(f.tensors().keySet()), file + ": names in order");
                for (Iterator<Map.Entry<String, JsonNode>> it = ref.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    TensorInfo t = f.info(e.getKey());
                    assertArrayEquals(longs(e.getValue().get("shape")), t.shape(), e.getKey());
                    assertEquals(DType.parse(e.getValue().get("dtype").asText()), t.dtype(), e.getKey());
                    float[] got = f.read(e.getKey()).data();
                    assertArrayEquals(ints(e.getValue().get("float_bits")), bits(got), file + " " + e.getKey());
                }
                assertFalse(f.isContiguous("weight_t"), "the transpose is a strided view");
                assertTrue(f.isContiguous("row2"), "a row is contiguous, at a storage offset");
                // Reading a strided view in pieces gives the same elements as reading it whole.
                TensorInfo t = f.info("weight_t");
                float[] whole = f.read("weight_t").data(), parts = new float[whole.length];
                f.readFloats(t, 0, parts, 0, 7);
                f.readFloats(t, 7, parts, 7, whole.length - 7);
                assertArrayEquals(whole, parts);
                // Stored bytes, gathered from the view or read straight from a contiguous one, in any range.
                for (String name : List.of("weight_t", "row2")) {
                    TensorInfo ti = f.info(name);
                    byte[] expected = new byte[(int) ti.byteSize()];
                    f.map(ti).get(expected);
                    int size = ti.dtype().size();
                    java.nio.ByteBuffer got = java.nio.ByteBuffer.allocate(expected.length);
                    f.readBytes(ti, 0, got.limit(size));
                    f.readBytes(ti, size, got.limit(expected.length));
                    assertArrayEquals(expected, got.array(), file + " " + name);
                    // Through a ReadBuffer; a strided view has no single file position, a contiguous one its own.
                    java.nio.ByteBuffer window = f.readBytes(ti, size, expected.length - size, new ReadBuffer());
                    byte[] tail = new byte[expected.length - size];
                    window.get(tail);
                    assertArrayEquals(java.util.Arrays.copyOfRange(expected, size, expected.length), tail, name);
                    long pos = f.filePosition(ti, size);
                    assertEquals(name.equals("weight_t") ? -1 : ti.begin() + size, pos, name);
                    assertEquals(pos < 0 ? 0 : pos % 64, window.alignmentOffset(0, 64), name);
                }
            }
        }
    }

    @Test
    void aLoneBinFileOpensAsACheckpoint() {
        try (Checkpoint c = Checkpoint.open(Reference.file("formats/torch/state_dict.bin"));
             TorchFile f = TorchFile.open(Reference.file("formats/torch/state_dict.bin"))) {
            assertEquals(new ArrayList<>(f.tensors().keySet()), c.tensorNames());
            assertArrayEquals(f.read("weight_t").data(), c.read("weight_t").data());
            float[] row = new float[6];
            c.readChunk("weight", 12, row, 0, 6);
            assertArrayEquals(c.read("row2").data(), row, "row 2 of weight is the view saved at offset 12");
        }
    }

    @Test
    void aShardedBinFolderReadsLikeTheSameTensorsInSafetensors() {
        try (Checkpoint bin = Checkpoint.open(Reference.file("formats/torch/sharded"));
             SafetensorsFile st = SafetensorsFile.open(Reference.file("formats/torch/sharded.safetensors"))) {
            assertEquals(st.tensors().keySet(), new java.util.HashSet<>(bin.tensorNames()));
            assertEquals("LlamaForCausalLM", bin.config().path("architectures").path(0).asText());
            for (String name : st.names()) {
                assertEquals(DType.BF16, bin.info(name).dtype(), name);
                assertArrayEquals(st.read(name).data(), bin.read(name).data(), name);
            }
            assertTrue(bin.info("lm_head.weight").file().getFileName().toString().startsWith("pytorch_model-00002"));
        }
    }

    @Test
    void writesBinFilesThatReadBackExactly() throws IOException {
        List<TensorSpec> specs = List.of(new TensorSpec("a", DType.F32, new long[] {3, 4}),
                new TensorSpec("b", DType.BF16, new long[] {5}), new TensorSpec("c", DType.F16, new long[] {2, 2}),
                new TensorSpec("d", DType.F64, new long[] {3}));
        float[] a = new float[12], b = new float[5], c = {0.5f, -2f, 65504f, 1e-3f}, d = {1.25f, 2.5e-8f, -3f};
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i);
        for (int i = 0; i < b.length; i++) b[i] = i * 0.3f;
        Path file = dir.resolve("pytorch_model.bin");
        try (TorchWriter w = TorchWriter.create(file, specs)) {
            w.write("c", c);
            w.writeChunk("a", 6, java.util.Arrays.copyOfRange(a, 6, 12), 6);
            w.writeChunk("a", 0, a, 6);
            w.markWritten("a");
            w.write("b", b);
            w.write("d", d);
            w.finish();
        }
        try (TorchFile f = TorchFile.open(file)) {
            assertEquals(List.of("a", "b", "c", "d"), new ArrayList<>(f.tensors().keySet()));
            assertArrayEquals(a, f.read("a").data());
            float[] bb = b.clone();
            Half.roundInPlace(bb, bb.length, DType.BF16);
            assertArrayEquals(bb, f.read("b").data());
            float[] cc = c.clone();
            Half.roundInPlace(cc, cc.length, DType.F16);
            assertArrayEquals(cc, f.read("c").data());
            assertArrayEquals(d, f.read("d").data());
            assertEquals(0, f.info("a").begin() % 64, "storages are 64-byte aligned, as torch.save aligns them");
        }
        // Java's own zip reader agrees on the records and their CRCs.
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(file.toFile())) {
            List<String> names = new ArrayList<>();
            z.stream().forEach(e -> names.add(e.getName()));
            assertEquals(List.of("archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/data/1",
                    "archive/data/2", "archive/data/3", "archive/version"), names);
            for (String n : names) z.getInputStream(z.getEntry(n)).readAllBytes(); // throws on a CRC mismatch
        }
    }

    @Test
    void unwrittenTensorsFailTheFinish() throws IOException {
        Path file = dir.resolve("x.bin");
        try (TorchWriter w = TorchWriter.create(file, List.of(new TensorSpec("a", DType.F32, new long[] {2})))) {
            IOException e = assertThrows(IOException.class, w::finish);
            assertTrue(e.getMessage().contains("'a'"), e.getMessage());
        }
    }

    @Test
    void hostilePicklesAreRefusedWithAMessageNamingWhatTheyTry() throws IOException {
        JsonNode corpus = Json.read(Reference.file("formats/hostile/corpus.json"));
        assertTrue(corpus.get("files").size() >= 12);
        for (JsonNode entry : corpus.get("files")) {
            Path file = Reference.file("formats/hostile/" + entry.get("file").asText());
            CheckpointException e = assertThrows(CheckpointException.class, () -> TorchFile.open(file).close(),
                    entry.get("what").asText());
            assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
            for (JsonNode word : entry.get("message_contains")) {
                assertTrue(e.getMessage().contains(word.asText()), entry.get("file") + ": '" + word.asText()
                        + "' missing from: " + e.getMessage());
            }
        }
    }

    @Test
    void truncatedAndForeignFilesAreRefused() throws IOException {
        byte[] good = Files.readAllBytes(Reference.file("formats/torch/state_dict.bin"));
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, java.util.Arrays.copyOf(good, good.length / 2));
        CheckpointException e = assertThrows(CheckpointException.class, () -> TorchFile.open(cut));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        Path legacy = dir.resolve("legacy.bin");
        Files.write(legacy, new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10});
        e = assertThrows(CheckpointException.class, () -> TorchFile.open(legacy));
        assertTrue(e.getMessage().contains("legacy"), e.getMessage());

        Path text = dir.resolve("text.bin");
        Files.writeString(text, "not a checkpoint");
        e = assertThrows(CheckpointException.class, () -> TorchFile.open(text));
        assertTrue(e.getMessage().contains("not a PyTorch checkpoint"), e.getMessage());
    }

    @Test
    void aBinIndexNamingAFileOutsideTheFolderIsRefused() throws IOException {
        Path folder = dir.resolve("m");
        Files.createDirectories(folder);
        Files.copy(Reference.file("formats/torch/state_dict.bin"), dir.resolve("outside.bin"));
        Files.writeString(folder.resolve(Checkpoint.TORCH_INDEX_FILE),
                "{\"metadata\": {}, \"weight_map\": {\"weight\": \"../outside.bin\"}}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(folder));
        assertTrue(e.getMessage().contains("outside the model folder"), e.getMessage());
    }

    static List<String> names(JsonNode ref) {
        List<String> out = new ArrayList<>();
        ref.fieldNames().forEachRemaining(out::add);
        return out;
    }

    static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asLong();
        return out;
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = (int) a.get(i).asLong();
        return out;
    }

    static int[] bits(float[] f) {
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }
}
