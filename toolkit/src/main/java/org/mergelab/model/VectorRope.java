package org.mergelab.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Rope#rotateScalar} eight lanes at a time: the same products per element, and {@code x1 c - x2 s} as
 * {@code x1 c + x2 (-s)}, which rounds alike, so the same bits. Half heads of whole vectors run as two halves; a head
 * of eight (stories260K) is one vector whose halves trade places. (Eight lanes only: a second vector shape in the
 * same JVM measured slower, the Vector API's shared call sites no longer specialised to one shape.) Loaded only where
 * the JVM has the Vector API ({@link FastMath#VECTOR}).
 */
final class VectorRope {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorShuffle<Float> SWAP_HALVES = VectorShuffle.fromValues(F, 4, 5, 6, 7, 0, 1, 2, 3);
    private static final VectorShuffle<Float> COSINES = VectorShuffle.fromValues(F, 0, 1, 2, 3, 0, 1, 2, 3);
    private static final VectorShuffle<Float> SINES = VectorShuffle.fromValues(F, 4, 5, 6, 7, 4, 5, 6, 7);
    private static final FloatVector SIGNS = FloatVector.fromArray(F, new float[] {-1, -1, -1, -1, 1, 1, 1, 1}, 0);

    private VectorRope() {}

    /** Whether this kernel covers the shape. */
    static boolean fits(int headDim) {
        return headDim == 8 || headDim % 16 == 0;
    }

    /** As {@link Rope#rotate}. */
    static void rotate(float[] x, int from, int to, int heads, int stride, float[] cs, int headDim) {
        if (headDim == 8) {
            for (int t = from; t < to; t++) {
                FloatVector angles = FloatVector.fromArray(F, cs, t * 8);
                FloatVector c = angles.rearrange(COSINES), s = angles.rearrange(SINES).mul(SIGNS);
                for (int h = 0, off = t * stride; h < heads; h++, off += 8) {
                    FloatVector v = FloatVector.fromArray(F, x, off);
                    v.mul(c).add(v.rearrange(SWAP_HALVES).mul(s)).intoArray(x, off);
                }
            }
            return;
        }
        int half = headDim / 2;
        for (int t = from; t < to; t++) {
            int at = t * headDim;
            for (int i = 0; i < half; i += 8) {
                FloatVector c = FloatVector.fromArray(F, cs, at + i), s = FloatVector.fromArray(F, cs, at + half + i);
                FloatVector minusS = s.neg();
                for (int h = 0; h < heads; h++) {
                    int off = t * stride + h * headDim + i;
                    FloatVector x1 = FloatVector.fromArray(F, x, off), x2 = FloatVector.fromArray(F, x, off + half);
                    x1.mul(c).add(x2.mul(minusS)).intoArray(x, off);
                    x2.mul(c).add(x1.mul(s)).intoArray(x, off + half);
                }
            }
        }
    }
}
