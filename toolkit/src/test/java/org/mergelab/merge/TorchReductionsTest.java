package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.mergelab.io.Half;

/** torch's float32 sums and norms (single thread), bit for bit, from reference/torch-reductions.json. */
class TorchReductionsTest {
    static float[] vector(long seed, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            long z = seed + i;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            x[i] = (float) (((z >>> 40) - (1 << 23)) / (double) (1 << 24));
        }
        return x;
    }

    private static JsonNode cases() throws IOException {
        try (InputStream in = TorchReductionsTest.class.getResourceAsStream("/reference/torch-reductions.json")) {
            return new ObjectMapper().readTree(in).get("cases");
        }
    }

    @Test
    void theVectorLanesAreInUse() {
        // Surefire starts the JVM with the Vector API, so these tests check the vector loops against torch.
        org.junit.jupiter.api.Assertions.assertTrue(VectorSupport.ENABLED);
    }

    @Test
    void sumsAndNormsHaveTorchsBits() throws IOException {
        for (JsonNode c : cases()) {
            int n = c.get("n").asInt();
            float[] x = vector(c.get("seed").asLong(), n);
            assertEquals(c.get("sum").asInt(), Float.floatToRawIntBits(TorchReductions.sum(x, 0, n)), "sum of " + n);
            assertEquals(c.get("sum").asInt(), Float.floatToRawIntBits(TorchReductions.sumGeneral(x, 0, n)),
                    "general sum of " + n);
            assertEquals(c.get("norm").asInt(), Float.floatToRawIntBits(TorchReductions.norm(x, 0, n)), "norm of " + n);
            float[] abs = new float[n];
            for (int i = 0; i < n; i++) abs[i] = Math.abs(x[i]);
            assertEquals(c.get("abs_sum").asInt(), Float.floatToRawIntBits(TorchReductions.sum(abs, 0, n)),
                    "sum of |x| of " + n);
        }
    }

    /** Along the first axis of r x m matrices, as nuslerp's row-wise mode reduces: each output's bits. */
    @Test
    void stridedSumsAndNormsHaveTorchsBits() throws IOException {
        JsonNode strided;
        try (InputStream in = TorchReductionsTest.class.getResourceAsStream("/reference/torch-reductions.json")) {
            strided = new ObjectMapper().readTree(in).get("strided");
        }
        int checked = 0;
        for (JsonNode c : strided) {
            int r = c.get("r").asInt(), m = c.get("m").asInt();
            float[] x = vector(c.get("seed").asLong(), r * m), ones = new float[r * m];
            java.util.Arrays.fill(ones, 1f);
            Lanes columns = Lanes.firstAxis(new long[] {r, m}, r * m);
            for (int v = 0; v < m; v++) {
                String at = r + " x " + m + ", output " + v;
                assertEquals(c.get("sum").get(v).asInt(),
                        Float.floatToRawIntBits(columns.dot(x, ones, v, Precision.F32)), "sum of " + at);
                assertEquals(c.get("norm").get(v).asInt(),
                        Float.floatToRawIntBits(columns.norm(x, v, Precision.F32)), "norm of " + at);
                checked++;
            }
        }
        assertEquals(3546, checked);
    }

    @Test
    void aStreamedSumEqualsTheWholeOneWhateverTheChunks() throws IOException {
        for (JsonNode c : cases()) {
            int n = c.get("n").asInt();
            float[] x = vector(c.get("seed").asLong(), n);
            for (int chunk : new int[] {7, 32, 1000, 4096, TensorStream.CHUNK}) {
                if (n < 8) continue; // below one vector torch adds plainly; there is nothing to stream
                TorchReductions.CascadeSum s = new TorchReductions.CascadeSum(n);
                for (int off = 0; off < n; off += chunk) s.add(x, off, Math.min(chunk, n - off));
                assertEquals(c.get("sum").asInt(), Float.floatToRawIntBits(s.result()), "streamed sum of " + n);
            }
        }
    }

    @Test
    void productsSummedAsTheyAreMadeEqualTheStoredProductsSum() throws IOException {
        for (JsonNode c : cases()) {
            int n = c.get("n").asInt();
            if (n < 8) continue;
            float[] a = vector(c.get("seed").asLong(), n), b = vector(c.get("seed").asLong() + 7, n);
            float na = 3.7f, nb = 0.61f;
            float[] prod = new float[n];
            for (int i = 0; i < n; i++) prod[i] = (a[i] / na) * (b[i] / nb);
            int expected = Float.floatToRawIntBits(TorchReductions.sumGeneral(prod, 0, n));
            for (int chunk : new int[] {7, 32, 1000, TensorStream.BLOCK}) {
                TorchReductions.CascadeSum s = new TorchReductions.CascadeSum(n);
                for (int off = 0; off < n; off += chunk) s.addProducts(a, b, off, Math.min(chunk, n - off), na, nb);
                assertEquals(expected, Float.floatToRawIntBits(s.result()), "products of " + n + " in pieces of " + chunk);
            }
        }
    }

    @Test
    void twoNormsInOnePassEqualEachAlone() throws IOException {
        for (JsonNode c : cases()) {
            int n = c.get("n").asInt();
            float[] a = vector(c.get("seed").asLong(), n), b = vector(c.get("seed").asLong() + 7, n);
            TorchReductions.NormSum sa = new TorchReductions.NormSum(), sb = new TorchReductions.NormSum();
            int piece = 64;
            float[] pa = new float[piece], pb = new float[piece];
            for (int off = 0; off < n; off += piece) {
                int k = Math.min(piece, n - off);
                System.arraycopy(a, off, pa, 0, k);
                System.arraycopy(b, off, pb, 0, k);
                TorchReductions.NormSum.addBoth(sa, pa, sb, pb, k);
            }
            assertEquals(c.get("norm").asInt(), Float.floatToRawIntBits(sa.result()), "norm of " + n);
            assertEquals(Float.floatToRawIntBits(TorchReductions.norm(b, 0, n)), Float.floatToRawIntBits(sb.result()),
                    "second norm of " + n);
        }
    }

    /** {@code x} rounded to bf16, stored little-endian from element {@code at} of a direct buffer (as a mapped file). */
    static ByteBuffer bf16Bytes(float[] x, int at) {
        ByteBuffer b = ByteBuffer.allocateDirect(2 * (at + x.length)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < x.length; i++) {
            short h = Half.floatToBf16(x[i]);
            b.putShort(2 * (at + i), h);
            x[i] = Half.bf16ToFloat(h);
        }
        return b;
    }

    @Test
    void bf16ProductsReadFromTheirBytesEqualTheFloatProducts() throws IOException {
        for (JsonNode c : cases()) {
            int n = c.get("n").asInt();
            if (n < 8) continue;
            float[] a = vector(c.get("seed").asLong(), n), b = vector(c.get("seed").asLong() + 7, n);
            int at = 5;
            ByteBuffer ha = bf16Bytes(a, at), hb = bf16Bytes(b, at);
            float na = 3.7f, nb = 0.61f;
            int expected = Float.floatToRawIntBits(new TorchReductions.CascadeSum(n).addProducts(a, b, 0, n, na, nb)
                    .result());
            for (int chunk : new int[] {7, 32, 1000, n}) {
                TorchReductions.CascadeSum s = new TorchReductions.CascadeSum(n);
                for (int off = 0; off < n; off += chunk) {
                    s.addProductsBf16(ha, hb, at + off, Math.min(chunk, n - off), na, nb);
                }
                assertEquals(expected, Float.floatToRawIntBits(s.result()), "bf16 products of " + n + " in pieces of "
                        + chunk);
            }
        }
    }

    @Test
    void bf16NormsReadFromTheirBytesEqualTheFloatNorms() throws IOException {
        for (JsonNode c : cases()) {
            int n = c.get("n").asInt();
            float[] a = vector(c.get("seed").asLong(), n), b = vector(c.get("seed").asLong() + 7, n);
            int at = 3;
            ByteBuffer ha = bf16Bytes(a, at), hb = bf16Bytes(b, at);
            for (int piece : new int[] {16, 48, n}) {
                TorchReductions.NormSum sa = new TorchReductions.NormSum(), sb = new TorchReductions.NormSum();
                for (int off = 0; off < n; off += piece) {
                    TorchReductions.NormSum.addBothBf16(sa, ha, sb, hb, at + off, Math.min(piece, n - off));
                }
                assertEquals(Float.floatToRawIntBits(TorchReductions.norm(a, 0, n)), Float.floatToRawIntBits(sa.result()),
                        "bf16 norm of " + n + " in pieces of " + piece);
                assertEquals(Float.floatToRawIntBits(TorchReductions.norm(b, 0, n)), Float.floatToRawIntBits(sb.result()),
                        "second bf16 norm of " + n + " in pieces of " + piece);
            }
        }
    }
}
