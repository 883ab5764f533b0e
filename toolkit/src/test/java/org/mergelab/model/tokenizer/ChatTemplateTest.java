package org.mergelab.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mergelab.model.TestData;

/**
 * Chat templates render as transformers' apply_chat_template(tokenize=False) renders them (jinja2 with trim_blocks
 * and lstrip_blocks), errors raised by a template included. Reference: reference/forward/chat-templates.json
 * (make_tokenizer_corpus_reference.py), templates under toolkit/src/test/python/templates.
 */
class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void rendersLikeTransformers() throws Exception {
        JsonNode ref = TestData.json("forward/chat-templates.json");
        Path templates = Path.of("src/test/python/templates");
        int checked = 0;
        for (JsonNode c : ref.get("cases")) {
            String name = c.get("template").asText();
            ChatTemplate t = ChatTemplate.of(Files.readString(templates.resolve(name)), ref.get("bos_token").asText(),
                    ref.get("eos_token").asText(), name);
            List<Map<String, Object>> messages = messages(ref.get("conversations").get(c.get("conversation").asText()));
            Map<String, Object> extra = c.has("tools") ? Map.of("tools", JSON.convertValue(c.get("tools"), List.class))
                    : Map.of();
            boolean gen = c.get("add_generation_prompt").asBoolean();
            String what = name + " / " + c.get("conversation").asText() + " / generation prompt " + gen;
            if (c.has("error")) {
                TokenizerException e = assertThrows(TokenizerException.class, () -> t.render(messages, gen, extra), what);
                assertTrue(e.getMessage().contains(c.get("error").asText()), what + ": " + e.getMessage());
            } else {
                assertEquals(c.get("rendered").asText(), t.render(messages, gen, extra), what);
            }
            checked++;
        }
        assertTrue(checked >= 50, "cases checked: " + checked);
    }

    @Test
    void modelFoldersExposeTheirTemplates() {
        Tokenizer qwen = Tokenizer.load(TestData.tiny("qwen2"));
        String prompt = qwen.chatTemplate().orElseThrow().render(List.of(ChatTemplate.message("user", "Hi")), true);
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n", prompt);
        int[] ids = qwen.encode(prompt, true);
        assertEquals(qwen.id("<|im_start|>").getAsInt(), ids[0], "special tokens in the prompt become single ids");
        Tokenizer llama3 = Tokenizer.load(TestData.tiny("llama3"));
        String l3 = llama3.chatTemplate().orElseThrow().render(List.of(ChatTemplate.message("user", "Hi")), true);
        assertTrue(l3.startsWith("<|begin_of_text|><|start_header_id|>user"), l3);
        assertTrue(Tokenizer.load(TestData.folder("stories260K")).chatTemplate().isEmpty());
    }

    @Test
    void unsupportedSyntaxIsAClearError() {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> ChatTemplate.of("{% macro m() %}x{% endmacro %}", "<s>", "</s>", "my-template"));
        assertTrue(e.getMessage().contains("my-template") && e.getMessage().contains("line 1")
                && e.getMessage().contains("macro"), e.getMessage());
    }

    private static List<Map<String, Object>> messages(JsonNode conv) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode m : conv) out.add(ChatTemplate.message(m.get("role").asText(), m.get("content").asText()));
        return out;
    }
}
