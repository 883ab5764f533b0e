package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mergelab.hub.SharedData;

/**
 * bAbI accuracy per question equals what transformers' greedy decoding gives on the same prompts (reference/forward/
 * babi-greedy.json): 118/200 for the bAbI fine-tune, 0/200 for the base.
 */
class BabiTest {
    @Test
    void accuracyEqualsTransformersQuestionByQuestion() {
        JsonNode ref = TestData.json("forward/babi-greedy.json").get("models");
        List<Babi.Question> questions = Babi.questions(
                Perplexity.readText(SharedData.file("datasets/splits/babi_eval.txt"), -1), 200);
        assertEquals(200, questions.size());
        for (String name : List.of("stories260K-babi", "stories260K")) {
            Babi.Accuracy a = Babi.accuracy(TestData.model(name), questions);
            JsonNode want = ref.get(name);
            for (int i = 0; i < questions.size(); i++) {
                JsonNode q = want.get("questions").get(i);
                assertEquals(q.get("answer").asText(), questions.get(i).answer(), "answer " + i);
                // sentencepiece decodes the new ids alone, dropping the first piece's space; ours continue the prompt
                assertEquals(q.get("continuation").asText(), a.details().stringColumn("continuation").get(i)
                        .stripLeading(), name + ": continuation of question " + (i + 1));
                assertEquals(q.get("correct").asBoolean(), a.details().booleanColumn("correct").get(i));
            }
            assertEquals(want.get("correct").asInt(), a.correct(), name);
            System.out.println("bAbI " + a);
        }
    }
}
