package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of damage is a CheckpointException that names the file, and the tensor where one is concerned. */
class SafetensorsCorruptionTest {
    @TempDir
    Path dir;

    private static void assertNames(CheckpointException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should name '" + p + "': " + e.getMessage());
        }
    }

    private CheckpointException openFails(Path file) {
        return assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file).close());
    }

    /** A valid file with one F32 tensor "w" of shape [4] (16 data bytes). */
    private Path valid(String name) throws IOException {
        Path file = dir.resolve(name);
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new TensorSpec("w", DType.F32, new long[] {4})))) {
            w.write("w", new float[] {1, 2, 3, 4});
            w.finish();
        }
        return file;
    }

    private static void truncate(Path file, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
        }
    }

    @Test
    void truncatedDataRegionNamesFileAndTensor() throws IOException {
        Path file = valid("trunc-data.safetensors");
        truncate(file, Files.size(file) - 4);
        assertNames(openFails(file), file.toString(), "'w'", "data_offsets");
    }

    @Test
    void truncatedInsideTheHeader() throws IOException {
        Path file = valid("trunc-header.safetensors");
        truncate(file, 20);
        assertNames(openFails(file), file.toString(), "truncated");
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        Path file = valid("trunc-5.safetensors");
        truncate(file, 5);
        assertNames(openFails(file), file.toString());
        Path empty = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        assertNames(openFails(empty), empty.toString());
    }

    @Test
    void headerLengthLargerThanTheFile() throws IOException {
        byte[] header = "{}      ".getBytes(StandardCharsets.US_ASCII);
        Path file = CorruptFiles.write(dir.resolve("long-header.safetensors"), 1000, header, new byte[16]);
        assertNames(openFails(file), file.toString(), "1000");
    }

    @Test
    void absurdHeaderLengths() throws IOException {
        byte[] header = "{}      ".getBytes(StandardCharsets.US_ASCII);
        // 2^40 bytes, a negative length (0xFFFF_FFFF_FFFF_FFFF read as signed), and Long.MAX_VALUE: none may be
        // allocated or trusted.
        long[] lengths = {1L << 40, -1L, Long.MAX_VALUE, 1};
        for (long len : lengths) {
            Path file = CorruptFiles.write(dir.resolve("absurd" + Long.toHexString(len) + ".safetensors"), len, header,
                    new byte[0]);
            assertNames(openFails(file), file.toString());
        }
    }

    @Test
    void invalidJsonHeader() throws IOException {
        Path file = CorruptFiles.write(dir.resolve("bad-json.safetensors"), "{\"w\": {\"dtype\": \"F32\",", new byte[0]);
        assertNames(openFails(file), file.toString(), "JSON");
        Path notObject = CorruptFiles.write(dir.resolve("array.safetensors"), "[1, 2, 3]", new byte[0]);
        assertNames(openFails(notObject), notObject.toString());
    }

    @Test
    void dataOffsetsPastTheEnd() throws IOException {
        Path file = CorruptFiles.write(dir.resolve("offsets.safetensors"),
                "{\"ok\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"far\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[8]);
        assertNames(openFails(file), file.toString(), "'far'");
        Path reversed = CorruptFiles.write(dir.resolve("reversed.safetensors"),
                "{\"rev\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", new byte[8]);
        assertNames(openFails(reversed), reversed.toString(), "'rev'");
    }

    @Test
    void sizeAndShapeMismatch() throws IOException {
        // F32 [3] needs 12 bytes; the offsets give 8.
        Path file = CorruptFiles.write(dir.resolve("mismatch.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[16]);
        assertNames(openFails(file), file.toString(), "'w'", "12");
        Path badDim = CorruptFiles.write(dir.resolve("negdim.safetensors"),
                "{\"v\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]);
        assertNames(openFails(badDim), badDim.toString(), "'v'");
    }

    @Test
    void unknownDtype() throws IOException {
        Path file = CorruptFiles.write(dir.resolve("dtype.safetensors"),
                "{\"q\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        assertNames(openFails(file), file.toString(), "'q'", "F12");
    }

    @Test
    void corruptFileInsideAModelFolderIsReportedByCheckpointToo() throws IOException {
        Path model = dir.resolve("model");
        Files.createDirectory(model);
        Path file = CorruptFiles.write(model.resolve("model.safetensors"), "not json at all", new byte[0]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(model));
        assertNames(e, file.toString());
    }

    private Path shardedFolder(String weightMapFile) throws IOException {
        Path model = dir.resolve("sharded");
        Files.createDirectory(model);
        try (SafetensorsWriter w = SafetensorsWriter.create(model.resolve("model-00001-of-00002.safetensors"),
                List.of(new TensorSpec("a", DType.F32, new long[] {1})))) {
            w.write("a", new float[] {1});
            w.finish();
        }
        Files.writeString(model.resolve("model.safetensors.index.json"), "{\"metadata\":{\"total_size\":8},"
                + "\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"" + weightMapFile + "\"}}");
        return model;
    }

    @Test
    void indexPointingToAMissingShard() throws IOException {
        Path model = shardedFolder("model-00002-of-00002.safetensors");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(model));
        assertNames(e, model.resolve("model.safetensors.index.json").toString(), "'b'",
                "model-00002-of-00002.safetensors");
    }

    @Test
    void indexPointingOutsideTheFolder() throws IOException {
        // The outside file exists and is valid: only the path check can refuse it.
        valid("outside.safetensors");
        Path model = shardedFolder("../outside.safetensors");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(model));
        assertNames(e, model.resolve("model.safetensors.index.json").toString(), "'b'", "../outside.safetensors");
    }

    @Test
    void indexNamingATensorItsShardLacks() throws IOException {
        Path model = shardedFolder("model-00001-of-00002.safetensors");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(model));
        assertNames(e, "model-00001-of-00002.safetensors", "'b'");
    }

    @Test
    void folderWithoutWeights() throws IOException {
        Path model = dir.resolve("empty-model");
        Files.createDirectory(model);
        Files.writeString(model.resolve("config.json"), "{}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(model));
        assertNames(e, model.toString());
        CheckpointException missing = assertThrows(CheckpointException.class,
                () -> Checkpoint.open(dir.resolve("nope")));
        assertNames(missing, dir.resolve("nope").toString());
    }

    @Test
    void gapsOverlapsAndTrailingBytesAreCorruption() throws IOException {
        // Two F32 [1] tensors whose byte ranges leave a gap, overlap, or do not reach the end of the data.
        Path gap = CorruptFiles.write(dir.resolve("gap.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]);
        assertNames(openFails(gap), gap.toString(), "'b'", "gap");
        Path overlap = CorruptFiles.write(dir.resolve("overlap.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]);
        assertNames(openFails(overlap), overlap.toString(), "overlap");
        Path trailing = CorruptFiles.write(dir.resolve("trailing.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[12]);
        assertNames(openFails(trailing), trailing.toString(), "trailing bytes");
    }

    @Test
    void garbageAfterTheHeaderObject() throws IOException {
        Path file = CorruptFiles.write(dir.resolve("garbage.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} {}", new byte[4]);
        assertNames(openFails(file), file.toString(), "JSON");
    }
}
