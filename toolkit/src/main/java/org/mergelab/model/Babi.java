package org.mergelab.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * bAbI task accuracy, as the stories260K-babi model card defines it: for each question of the eval file (blocks of
 * statements with "Q: ..." and "A: answer." lines, blank-line separated), the block up to and including that
 * question's "A:" is the prompt (BOS first); greedy decoding; correct when the continuation, leading spaces
 * dropped, starts with the answer word.
 */
public final class Babi {
    /** A question: the prompt ending in "A:", and the answer word (without its full stop). */
    public record Question(String prompt, String answer) {}

    /** The score of one model, with one row per question in {@link #details()}. */
    public record Accuracy(String model, int correct, int total, Table details) {
        public double accuracy() {
            return total == 0 ? Double.NaN : (double) correct / total;
        }

        @Override
        public String toString() {
            return String.format("%s: %d/%d = %.3f", model, correct, total, accuracy());
        }
    }

    /** New tokens generated per answer: enough for any bAbI location word. */
    static final int ANSWER_TOKENS = 6;

    private Babi() {}

    /** The first {@code limit} questions of a bAbI file in the splits' format (all when limit <= 0). */
    public static List<Question> questions(String text, int limit) {
        List<Question> out = new ArrayList<>();
        for (String block : text.replace("\r\n", "\n").split("\n\\s*\n")) {
            String[] lines = block.strip().split("\n");
            for (int i = 0; i < lines.length; i++) {
                if (!lines[i].startsWith("A:")) continue;
                StringBuilder prompt = new StringBuilder();
                for (int k = 0; k < i; k++) prompt.append(lines[k]).append('\n');
                prompt.append("A:");
                String answer = lines[i].substring(2).strip();
                if (answer.endsWith(".")) answer = answer.substring(0, answer.length() - 1);
                out.add(new Question(prompt.toString(), answer));
                if (limit > 0 && out.size() == limit) return out;
            }
        }
        return out;
    }

    public static Accuracy accuracy(Model model, Path babiFile, int limit) {
        return accuracy(model, questions(Perplexity.readText(babiFile, -1), limit));
    }

    public static Accuracy accuracy(Model model, List<Question> questions) {
        StringColumn q = StringColumn.create("question"), a = StringColumn.create("answer"),
                c = StringColumn.create("continuation");
        BooleanColumn ok = BooleanColumn.create("correct");
        int correct = 0;
        for (Question question : questions) {
            Generation g = model.generate(question.prompt(), Sampling.greedy(ANSWER_TOKENS));
            boolean right = isCorrect(g.text(), question.answer());
            if (right) correct++;
            String p = question.prompt();
            int qAt = p.lastIndexOf("Q:");
            q.append(qAt >= 0 ? p.substring(qAt, p.length() - 3).strip() : "");
            a.append(question.answer());
            c.append(g.text());
            ok.append(right);
        }
        return new Accuracy(model.name(), correct, questions.size(),
                Table.create("bAbI answers of " + model.name(), q, a, c, ok));
    }

    static boolean isCorrect(String continuation, String answer) {
        return continuation.stripLeading().startsWith(answer);
    }
}
