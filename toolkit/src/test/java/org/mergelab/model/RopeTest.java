package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rotary embeddings: the vector kernel gives the scalar loop's bits, and the scalar loop is "rotate half". */
class RopeTest {
    @ParameterizedTest(name = "head dimension {0}")
    @ValueSource(ints = {8, 16, 64, 128, 24})
    void theVectorRotationGivesTheScalarBitsAndRotatesHalves(int headDim) {
        Rope rope = Rope.of("default", 10000, headDim, 1, 1, 4, 2048, "test");
        int rows = 13, heads = 3, stride = heads * headDim + 5; // rows further apart than their heads
        float[] cs = new float[rows * headDim];
        for (int t = 0; t < rows; t++) rope.angles(1000 + 37 * t, cs, t * headDim);
        Random r = new Random(headDim);
        float[] x = new float[rows * stride];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] scalar = x.clone(), vector = x.clone();
        rope.rotateScalar(scalar, 0, rows, heads, stride, cs);
        assertTrue(FastMath.VECTOR);
        rope.rotate(vector, 0, 5, heads, stride, cs);
        rope.rotate(vector, 5, rows, heads, stride, cs);
        int half = headDim / 2;
        for (int t = 0; t < rows; t++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < half; i++) {
                    int a = t * stride + h * headDim + i, b = a + half;
                    // the angle as transformers takes it: the float product of position and inverse frequency
                    float angle = (1000 + 37 * t) * rope.invFreq()[i];
                    double c = Math.cos(angle), s = Math.sin(angle);
                    assertEquals(x[a] * c - x[b] * s, scalar[a], 1e-6, "row " + t + ", head " + h + ", pair " + i);
                    assertEquals(x[b] * c + x[a] * s, scalar[b], 1e-6, "row " + t + ", head " + h + ", pair " + i);
                }
            }
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(scalar[i]), Float.floatToRawIntBits(vector[i]), "element " + i);
        }
    }
}
