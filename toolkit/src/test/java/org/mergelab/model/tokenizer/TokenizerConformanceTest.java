package org.mergelab.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mergelab.hub.DemoModels;
import org.mergelab.hub.SharedData;
import org.mergelab.model.TestData;

/**
 * Encodings equal the reference tokenizer's, line by line over every corpus of the data folder and on whole texts:
 * sentencepiece for tok512.model; the tokenizers library or transformers' AutoTokenizer for tokenizer.json files
 * of every supported kind (SentencePiece-style BPE with byte fallback as in Llama 2; byte-level BPE as in Llama 3,
 * Qwen2 and SmolLM). Decoding too. Reference: reference/forward/tokenizer-corpora.json
 * (make_tokenizer_corpus_reference.py) and reference/tok512-encodings.json (make_tokenizer_reference.py).
 */
class TokenizerConformanceTest {
    private static final JsonNode REF = TestData.json("forward/tokenizer-corpora.json");

    static Tokenizer tokenizer(String name) {
        return switch (name) {
            case "tok512.model" -> SentencePieceTokenizer.load(SharedData.file(DemoModels.TOKENIZER));
            case "tok512.json (MergeLab)" -> Tokenizer.load(TestData.folder("stories260K"));
            case "tok512.json (transformers)" -> Tokenizer.load(TestData.tiny("mistral"));
            case "llama3-style" -> Tokenizer.load(TestData.tiny("llama3"));
            case "qwen2-style" -> Tokenizer.load(TestData.tiny("qwen2"));
            case "smollm-style" -> Tokenizer.load(org.mergelab.testing.Reference.file("forward/tokenizers/smollm-style"));
            default -> throw new IllegalArgumentException(name);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"tok512.model", "tok512.json (MergeLab)", "tok512.json (transformers)", "llama3-style",
            "qwen2-style", "smollm-style"})
    void encodesEveryCorpusLineAsTheReference(String name) throws Exception {
        JsonNode ref = REF.get("tokenizers").get(name);
        Tokenizer tok = tokenizer(name);
        for (JsonNode sample : ref.get("samples")) {
            String text = sample.get("text").asText();
            assertArrayEquals(TestData.ints(sample.get("ids")), tok.encode(text, true), name + ": [" + text + "]");
        }
        int block = REF.get("block_lines").asInt();
        long lines = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("corpora").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> c = it.next();
            List<String> text = corpus(c.getKey());
            JsonNode want = c.getValue();
            assertEquals(want.get("lines").asInt(), text.size(), c.getKey() + ": line count");
            List<String> idLines = new ArrayList<>(), decoded = new ArrayList<>();
            long ids = 0;
            for (String line : text) {
                int[] e = tok.encode(line, true);
                ids += e.length;
                idLines.add(ids(e));
                decoded.add(tok.decode(e, false));
            }
            for (int b = 0; b * block < text.size(); b++) {
                List<String> part = idLines.subList(b * block, Math.min(text.size(), (b + 1) * block));
                assertEquals(want.get("blocks").get(b).asText(), digest(part), name + ", " + c.getKey() + ": lines "
                        + (b * block + 1) + ".." + (b * block + part.size()) + " encode differently from the reference");
            }
            assertEquals(want.get("ids").asLong(), ids, name + ", " + c.getKey() + ": total ids");
            assertEquals(want.get("decoded").asText(), digest(decoded), name + ", " + c.getKey() + ": decoded lines");
            lines += text.size();
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("whole_texts").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> w = it.next();
            int[] e = tok.encode(TestData.text(w.getKey(), 40_000), true);
            assertEquals(w.getValue().get("ids").asInt(), e.length, name + ", whole " + w.getKey() + ": id count");
            assertEquals(w.getValue().get("digest").asText(), digest(List.of(ids(e))), name + ", whole " + w.getKey());
            assertEquals(w.getValue().get("decoded").asText(), digest(List.of(tok.decode(e, false))),
                    name + ", whole " + w.getKey() + ": decoded");
        }
        System.out.printf("%s: %d corpus lines and %d whole texts encode and decode as the reference%n", name, lines,
                ref.get("whole_texts").size());
    }

    @Test
    void tok512SamplesMatchSentencePiece() {
        JsonNode ref = TestData.json("tok512-encodings.json");
        Tokenizer sp = tokenizer("tok512.model");
        Tokenizer json = tokenizer("tok512.json (MergeLab)");
        int agree = 0;
        for (JsonNode s : ref.get("samples")) {
            String text = s.get("text").asText();
            int[] want = TestData.ints(s.get("ids"));
            assertArrayEquals(want, sp.encode(text, true), "tokenizer.model: [" + text + "]");
            if (s.get("our_tokenizer_json_agrees").asBoolean()) {
                assertArrayEquals(want, json.encode(text, true), "tokenizer.json: [" + text + "]");
                agree++;
            }
        }
        assertTrue(agree >= ref.get("samples").size() - 2, "samples where tokenizer.json equals sentencepiece");
    }

    static List<String> corpus(String name) throws Exception {
        if (name.equals("edge_cases")) {
            List<String> out = new ArrayList<>();
            REF.get("tokenizers").get("tok512.model").get("samples").forEach(s -> out.add(s.get("text").asText()));
            return out.subList(0, REF.get("tokenizers").get("tok512.model").get("corpora").get("edge_cases")
                    .get("lines").asInt());
        }
        String path = REF.get("corpora").get(name).asText();
        String text = Files.readString(SharedData.file("datasets/" + path), StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) lines.remove(lines.size() - 1);
        int limit = name.endsWith("_first2000") ? 2000 : Integer.MAX_VALUE;
        return lines.subList(0, Math.min(limit, lines.size()));
    }

    static String ids(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) sb.append(',');
            sb.append(ids[i]);
        }
        return sb.toString();
    }

    static String digest(List<String> strings) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        return HexFormat.of().formatHex(md.digest(String.join("\n", strings).getBytes(StandardCharsets.UTF_8)))
                .substring(0, 16);
    }
}
