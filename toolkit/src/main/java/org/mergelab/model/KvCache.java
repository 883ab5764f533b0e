package org.mergelab.model;

/**
 * The keys and values of the positions a sequence has seen so far, per layer, plus the scratch space a forward pass
 * needs (so that a {@link Transformer} holds no per-sequence state and serves several sequences at once).
 * Keys are stored transposed, (kvHeads, headDim, capacity), so that a query's scores against every position are
 * sums of scaled key rows; values as (kvHeads, capacity, headDim).
 */
public final class KvCache {
    /** Floats past the end of every layer's keys and values, so that eight-lane loads at a row's end stay inside. */
    static final int SLACK = 8;
    final int capacity;
    final float[][] keys;
    final float[][] values;
    private int length;
    /** The forward pass's activations, reused from call to call. */
    Object scratch;

    KvCache(ModelConfig c, int capacity) {
        this.capacity = capacity;
        this.keys = new float[c.numLayers()][];
        this.values = new float[c.numLayers()][];
        long perLayer = (long) c.kvDim() * capacity + SLACK;
        if (perLayer > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a cache of " + capacity + " positions is too large for one array");
        }
        for (int l = 0; l < c.numLayers(); l++) {
            keys[l] = new float[(int) perLayer];
            values[l] = new float[(int) perLayer];
        }
    }

    /** Positions cached so far: the position the next token takes. */
    public int length() { return length; }

    /** How many positions fit. */
    public int capacity() { return capacity; }

    /** Forgets every position (the arrays are reused). */
    public void clear() { length = 0; }

    void advance(int n) { length += n; }
}
