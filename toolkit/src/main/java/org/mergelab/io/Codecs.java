package org.mergelab.io;

/** The float codecs behind every tensor read and write, as a whole. */
public final class Codecs {
    private Codecs() {}

    /**
     * Whether bf16 is decoded and encoded with the JDK's Vector API. The first call loads, checks and warms up the
     * vector codecs (a fraction of a second), so a caller that will soon stream tensors may make it early, on a thread
     * of its own.
     */
    public static boolean vectorised() {
        return Conversions.VECTOR;
    }
}
