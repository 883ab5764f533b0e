package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.testing.Reference;
import org.mergelab.testing.TinyTestModels;

/**
 * The .bin files MergeLab writes load in torch (weights_only) and transformers: reference/formats/bin-interop.json
 * (make_bin_interop_reference.py) records that verdict for the files TinyTestModels wrote then, and this test writes
 * them again and requires the same bytes, so the verdict still holds.
 */
class TorchInteropTest {
    @Test
    void writesTheBytesTorchAndTransformersLoaded(@TempDir Path out) throws Exception {
        JsonNode ref = Json.read(Reference.file("formats/bin-interop.json"));
        for (JsonNode v : ref.get("torch_weights_only")) {
            assertTrue(v.get("loads").asBoolean() && v.get("equal_to_safetensors").asBoolean(), v.toString());
        }
        for (JsonNode v : ref.get("transformers_from_pretrained")) {
            assertTrue(v.get("same_weights").asBoolean() && v.get("missing_keys").isEmpty()
                    && v.get("unexpected_keys").isEmpty(), v.toString());
        }
        TinyTestModels.writeAll(out);
        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("files").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Path f = out.resolve(e.getKey());
            assertTrue(Files.isRegularFile(f), e.getKey());
            if (e.getKey().endsWith(".json") && !e.getKey().endsWith("index.json")) continue; // config: cosmetic
            assertEquals(e.getValue().asText(), sha256(f), e.getKey());
            checked++;
        }
        assertTrue(checked >= 5, "weights and indexes compared: " + checked);
    }

    static String sha256(Path f) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
