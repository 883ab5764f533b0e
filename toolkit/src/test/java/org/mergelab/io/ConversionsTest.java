package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * The bulk conversions (the Vector API kernels where the JVM has them, as this test JVM does) give exactly
 * {@link Half}'s scalar bits: every bf16 pattern widened, and every float on and around each bf16 rounding boundary
 * narrowed, at buffer offsets that are not multiples of the vector length.
 */
class ConversionsTest {
    @Test
    void theVectorKernelsAreInUse() {
        assertTrue(Conversions.VECTOR, "surefire starts the JVM with --add-modules jdk.incubator.vector");
    }

    @Test
    void everyBf16PatternWidensExactly() {
        int n = 1 << 16;
        ByteBuffer b = ByteBuffer.allocateDirect(2 * n + 6).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putShort(6 + 2 * i, (short) i);
        float[] out = new float[n + 3];
        b.position(6);
        Conversions.toFloats(b, DType.BF16, out, 3, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(Half.bf16ToFloat((short) i)), Float.floatToRawIntBits(out[3 + i]),
                    "pattern " + Integer.toHexString(i));
        }
    }

    @Test
    void narrowingRoundsLikeHalfEverywhere() {
        // For every bf16 value: the value itself, the midpoint to the next one, and one float step either side.
        int n = 4 * (1 << 16);
        float[] in = new float[n + 5];
        for (int h = 0; h < (1 << 16); h++) {
            int bits = h << 16;
            int mid = bits + 0x8000;
            in[5 + 4 * h] = Float.intBitsToFloat(bits);
            in[5 + 4 * h + 1] = Float.intBitsToFloat(mid);
            in[5 + 4 * h + 2] = Float.intBitsToFloat(mid - 1);
            in[5 + 4 * h + 3] = Float.intBitsToFloat(mid + 1);
        }
        ByteBuffer b = ByteBuffer.allocateDirect(2 * n + 2).order(ByteOrder.LITTLE_ENDIAN);
        b.position(2);
        Conversions.fromFloats(in, 5, n, DType.BF16, b);
        for (int i = 0; i < n; i++) {
            assertEquals(Half.floatToBf16(in[5 + i]), b.getShort(2 + 2 * i), "float bits "
                    + Integer.toHexString(Float.floatToRawIntBits(in[5 + i])));
        }
    }
}
