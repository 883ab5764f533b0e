package org.mergelab.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Perplexity of a model on a text: BOS, then the text's tokens; every token after BOS is scored once, in consecutive
 * non-overlapping windows of {@code window} scored tokens, each window run from an empty cache with the token just
 * before it as its first input (so a window is {@code window + 1} positions, and no token is predicted from nothing;
 * the window may equal the context, the last position then lying one past it, as transformers allows and as the
 * cards measured llama2xs, whose context is 256).
 * This is the procedure of the stories260K model cards ("BOS, then the text, in non-overlapping windows of 256
 * tokens"), whose numbers it reproduces. Perplexity is exp of the mean negative log-likelihood, summed in double.
 *
 * @param tokens  the sequence's length, BOS included
 * @param scored  how many predictions were scored: every token but the first
 * @param window  scored tokens per window
 */
public record Perplexity(String model, int tokens, int scored, int window, double meanNll) {
    public double perplexity() {
        return Math.exp(meanNll);
    }

    /** Perplexity of {@code model} on a text file (UTF-8), in windows of {@code window} tokens. */
    public static Perplexity of(Model model, Path textFile, int window) {
        return of(model, readText(textFile, -1), window);
    }

    public static Perplexity of(Model model, String text, int window) {
        return ofIds(model, model.encode(text), window);
    }

    /** Perplexity over a sequence of ids (BOS included if the model expects one); window 0: the whole context. */
    public static Perplexity ofIds(Model model, int[] ids, int window) {
        int context = model.config().maxPositions();
        int w = window > 0 ? window : context - 1;
        if (w > context) {
            throw new IllegalArgumentException("a window of " + w + " scored tokens is longer than the model's context"
                    + " of " + context + "; use --window " + (context - 1) + " or less");
        }
        if (w < 1) throw new IllegalArgumentException("a window must score at least 1 token, not " + w);
        if (ids.length < 2) throw new IllegalArgumentException("the text has no tokens to score");
        Transformer t = model.transformer();
        // w + 1 positions: one past the context when w == context, as transformers (and the model cards) allow
        KvCache cache = new KvCache(model.config(), w + 1);
        int vocab = model.config().vocabSize();
        double[] nll = {0};
        int scored = 0;
        float[] row = new float[vocab], k = new float[vocab];
        int block = Math.max(1, (1 << 22) / vocab); // logits of at most ~16 MB at a time
        for (int start = 0; start + 1 < ids.length; start += w) {
            int[] chunk = Arrays.copyOfRange(ids, start, Math.min(ids.length, start + w + 1));
            cache.clear();
            t.logitsForAll(cache, chunk, block, (first, rows, logits) -> {
                for (int r = 0; r < rows; r++) {
                    int j = first + r + 1; // position first + r predicts chunk[j]
                    if (j < chunk.length) nll[0] -= logProb(logits, r * vocab, vocab, chunk[j], row, k);
                }
            });
            scored += chunk.length - 1;
        }
        return new Perplexity(model.name(), ids.length, scored, w, nll[0] / scored);
    }

    /** log softmax(row)[target], the sum of exponentials in double; {@code row} and {@code k}: vocab floats each. */
    static double logProb(float[] logits, int off, int vocab, int target, float[] row, float[] k) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[off + i]);
        for (int i = 0; i < vocab; i++) row[i] = logits[off + i] - max;
        FastMath.expInPlace(row, vocab, k);
        return logits[off + target] - max - Math.log(Transformer.sum(row, vocab));
    }

    /**
     * A text file as UTF-8; with {@code maxBytes} > 0 only its first bytes (a character cut in two at the end is
     * dropped), as the model cards measure "the first 40,000 bytes".
     */
    public static String readText(Path file, int maxBytes) {
        try {
            byte[] b = Files.readAllBytes(file);
            if (maxBytes > 0 && b.length > maxBytes) b = Arrays.copyOf(b, maxBytes);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                int end = b.length;
                while (end > 0 && (b[end - 1] & 0xC0) == 0x80) end--;
                if (end > 0 && (b[end - 1] & 0x80) != 0) end--;
                return new String(b, 0, end, StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return String.format("%s: perplexity %.4f over %d tokens (%d scored, windows of %d)", model, perplexity(),
                tokens, scored, window);
    }
}
