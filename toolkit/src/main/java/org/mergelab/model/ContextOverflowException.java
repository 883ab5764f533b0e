package org.mergelab.model;

/** More positions than the cache (or the model's context) holds: never silently truncated or wrapped. */
public final class ContextOverflowException extends IllegalArgumentException {
    public ContextOverflowException(int needed, int capacity, int context) {
        super("the sequence needs " + needed + " positions but the cache holds " + capacity
                + (capacity == context ? " (the model's context, max_position_embeddings)" : " (the model's context is "
                + context + ")") + "; shorten the prompt or evaluate in windows");
    }
}
