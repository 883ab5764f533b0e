package org.mergelab.model;

/**
 * What a model generated: the prompt's and the new tokens' ids, the continuation's text, why it stopped, and how
 * fast prefill and decoding ran.
 *
 * @param stoppedBy "stop token N", "max new tokens" or "context" (the model's context is full)
 */
public record Generation(String model, String prompt, int[] promptIds, int[] ids, String text, String stoppedBy,
                         double prefillSeconds, double decodeSeconds) {
    /** Prompt tokens per second of prefill. */
    public double prefillTokensPerSecond() {
        return prefillSeconds > 0 ? promptIds.length / prefillSeconds : Double.NaN;
    }

    /** New tokens per second after the first (each a forward pass of one token). */
    public double decodeTokensPerSecond() {
        return decodeSeconds > 0 && ids.length > 1 ? (ids.length - 1) / decodeSeconds : Double.NaN;
    }

    @Override
    public String toString() {
        return text;
    }
}
