package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.DemoModels;
import org.mergelab.hub.SharedData;
import org.mergelab.testing.Reference;

/**
 * GGUF import. The real check: stories260K.gguf (ggml-org's conversion of karpathy's llama2.c file) imports into the
 * same folder as the llama2.c import of stories260K.bin: same config (bar the context length each file records),
 * the same tensors bit for bit, the same tokenizer files. F16 and Q8_0: tiny Llama GGUFs written by gguf-py the way
 * llama.cpp's converter writes them (reference/formats/gguf, make_gguf_fixtures.py) import to gguf-py's own
 * dequantized values, with the q/k rows back in Hugging Face order.
 */
class GgufImportTest {
    @TempDir
    static Path home;
    static Path fromGguf, fromLlama2c;

    @BeforeAll
    static void importBoth() throws IOException {
        fromLlama2c = DemoModels.ensure("stories260K", home);
        fromGguf = GgufImporter.importModel(SharedData.file("models/stories260K/stories260K.gguf"),
                home.resolve("stories260K-gguf"), false);
    }

    @Test
    void configMatchesTheLlama2cImportExceptTheRecordedContext() throws IOException {
        ObjectNode a = (ObjectNode) Json.read(fromGguf.resolve("config.json"));
        ObjectNode b = (ObjectNode) Json.read(fromLlama2c.resolve("config.json"));
        // The GGUF records n_ctx 2048 (the converter's default), the llama2.c header seq_len 512: each import says
        // what its file says.
        assertEquals(2048, a.get("max_position_embeddings").asInt());
        assertEquals(512, b.get("max_position_embeddings").asInt());
        a.remove("max_position_embeddings");
        b.remove("max_position_embeddings");
        assertEquals(b, a);
        assertTrue(a.get("tie_word_embeddings").asBoolean(), "output.weight equals token_embd.weight: tied");
    }

    @Test
    void tensorsAreBitForBitThoseOfTheLlama2cImport() {
        try (Checkpoint g = Checkpoint.open(fromGguf); Checkpoint l = Checkpoint.open(fromLlama2c)) {
            assertEquals(new java.util.TreeSet<>(l.tensorNames()), new java.util.TreeSet<>(g.tensorNames()));
            for (String name : l.tensorNames()) {
                assertEquals(DType.F32, g.info(name).dtype(), name);
                assertArrayEquals(l.info(name).shape(), g.info(name).shape(), name);
                assertArrayEquals(TorchFileTest.bits(l.read(name).data()), TorchFileTest.bits(g.read(name).data()), name);
            }
        }
    }

    @Test
    void tokenizerFilesMatchTheOnesDerivedFromTok512() throws IOException {
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
            JsonNode a = Json.read(fromGguf.resolve(f)), b = Json.read(fromLlama2c.resolve(f));
            if (f.equals("tokenizer_config.json")) {
                ((ObjectNode) a).remove("model_max_length");
                ((ObjectNode) b).remove("model_max_length");
            }
            assertEquals(b, a, f);
        }
        SentencePieceModel rebuilt = SentencePieceModel.read(fromGguf.resolve("tokenizer.model"));
        SentencePieceModel original = SentencePieceModel.read(SharedData.file(DemoModels.TOKENIZER));
        assertEquals(original.pieces(), rebuilt.pieces());
        assertEquals(original.byteFallback(), rebuilt.byteFallback());
        assertEquals(original.addDummyPrefix(), rebuilt.addDummyPrefix());
        assertEquals(original.removeExtraWhitespaces(), rebuilt.removeExtraWhitespaces());
        assertEquals(original.unkId(), rebuilt.unkId());
        assertEquals(original.bosId(), rebuilt.bosId());
        assertEquals(original.eosId(), rebuilt.eosId());
        assertEquals(original.padId(), rebuilt.padId());
    }

    @Test
    void f16AndQ8_0ImportToGgufPysDequantizedValues() throws Exception {
        JsonNode ref = Json.read(Reference.file("formats/gguf/tiny-llama.json"));
        for (String kind : new String[] {"f16", "q8_0"}) {
            Path out = GgufImporter.importModel(Reference.file("formats/gguf/tiny-llama-" + kind + ".gguf"),
                    home.resolve("tiny-" + kind), false);
            JsonNode cfg = Json.read(out.resolve("config.json"));
            for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("metadata").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                assertEquals(e.getValue().asDouble(), cfg.get(e.getKey()).asDouble(), kind + " " + e.getKey());
            }
            assertFalse(cfg.get("tie_word_embeddings").asBoolean(), "separate output matrix");
            try (Checkpoint c = Checkpoint.open(out)) {
                JsonNode tensors = ref.get(kind);
                assertEquals(tensors.size(), c.tensorNames().size());
                for (Iterator<Map.Entry<String, JsonNode>> it = tensors.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    TensorInfo t = c.info(e.getKey());
                    assertEquals(e.getValue().get("dtype").asText(), t.dtype().safetensorsName(), e.getKey());
                    assertEquals(e.getValue().get("sha256").asText(), sha256(c.read(e.getKey()).data()),
                            kind + " " + e.getKey());
                }
            }
            assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        }
    }

    @Test
    void badGgufFilesAreRefusedAndLeaveNothing() throws IOException {
        byte[] good = Files.readAllBytes(Reference.file("formats/gguf/tiny-llama-q8_0.gguf"));
        Path cut = home.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(good, good.length - 100));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> GgufImporter.importModel(cut, home.resolve("cut-out"), false));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("cut.gguf"), e.getMessage());
        assertFalse(Files.exists(home.resolve("cut-out")));

        Path notGguf = home.resolve("x.gguf");
        Files.writeString(notGguf, "definitely not a gguf file, but long enough");
        e = assertThrows(CheckpointException.class, () -> GgufFile.open(notGguf));
        assertTrue(e.getMessage().contains("not a GGUF file"), e.getMessage());

        // A string length in the exabytes must be refused, not allocated.
        byte[] bad = good.clone();
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putLong(24, Long.MAX_VALUE / 2);
        Path huge = home.resolve("huge.gguf");
        Files.write(huge, bad);
        e = assertThrows(CheckpointException.class, () -> GgufFile.open(huge));
        assertTrue(e.getMessage().contains("runs past the header"), e.getMessage());
    }

    static String sha256(float[] v) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
    }
}
