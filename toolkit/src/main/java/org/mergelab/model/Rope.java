package org.mergelab.model;

/**
 * Rotary position embeddings as transformers applies them ("rotate half": dimension i pairs with i + headDim/2),
 * with the inverse frequencies computed in float32 the way transformers computes them, so angles agree to the
 * last bit of a float.
 *
 * @param type   "default", "linear" or "llama3" (Llama 3.1/3.2's frequency-dependent scaling)
 */
record Rope(String type, double theta, int headDim, float[] invFreq) {
    static final String SUPPORTED = "default, linear, llama3";

    static Rope of(String type, double theta, int headDim, double factor, double lowFreqFactor,
                   double highFreqFactor, int originalContext, String where) {
        float[] inv = new float[headDim / 2];
        float base = (float) theta;
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / headDim;
            inv[i] = 1f / (float) Math.pow(base, exponent);
        }
        switch (type) {
            case "default" -> { }
            case "linear" -> {
                for (int i = 0; i < inv.length; i++) inv[i] = inv[i] / (float) factor;
            }
            case "llama3" -> llama3(inv, (float) factor, (float) lowFreqFactor, (float) highFreqFactor, originalContext);
            default -> throw new UnsupportedModelException(where + ": rope type '" + type
                    + "' is not supported; supported: " + SUPPORTED);
        }
        return new Rope(type, theta, headDim, inv);
    }

    /** Llama 3's scaling: long wavelengths slowed by {@code factor}, short ones kept, those between blended. */
    private static void llama3(float[] inv, float factor, float low, float high, int oldContext) {
        float lowFreqWavelen = oldContext / low;
        float highFreqWavelen = oldContext / high;
        for (int i = 0; i < inv.length; i++) {
            float wavelen = (float) (2 * Math.PI) / inv[i];
            float scaled = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = (oldContext / wavelen - low) / (high - low);
                scaled = (1 - smooth) * scaled / factor + smooth * scaled;
            }
            inv[i] = scaled;
        }
    }

    /**
     * cos and sin of every frequency at {@code position}, into {@code cs[at..at+headDim)}: {@code half} cosines,
     * then {@code half} sines.
     */
    void angles(int position, float[] cs, int at) {
        int half = invFreq.length;
        for (int i = 0; i < half; i++) {
            float angle = position * invFreq[i];
            cs[at + i] = (float) Math.cos(angle);
            cs[at + half + i] = (float) Math.sin(angle);
        }
    }

    /**
     * Rotates {@code heads} head vectors in each of rows [from, to) of {@code x} (rows {@code stride} apart), row t
     * by the angles at {@code cs[t * headDim..)} of {@link #angles}. One loop nest for the whole block: called per
     * head, the four pairs of a small model's head cost more in loop entry than in arithmetic.
     */
    void rotate(float[] x, int from, int to, int heads, int stride, float[] cs) {
        if (FastMath.VECTOR && VectorRope.fits(headDim)) {
            VectorRope.rotate(x, from, to, heads, stride, cs, headDim);
            return;
        }
        rotateScalar(x, from, to, heads, stride, cs);
    }

    /** {@link #rotate} without the Vector API. */
    void rotateScalar(float[] x, int from, int to, int heads, int stride, float[] cs) {
        int half = invFreq.length, hd = headDim;
        for (int t = from; t < to; t++) {
            int at = t * hd;
            for (int h = 0; h < heads; h++) {
                int off = t * stride + h * hd;
                for (int i = 0; i < half; i++) {
                    float c = cs[at + i], s = cs[at + half + i];
                    float x1 = x[off + i], x2 = x[off + half + i];
                    x[off + i] = x1 * c - x2 * s;
                    x[off + half + i] = x2 * c + x1 * s;
                }
            }
        }
    }
}
