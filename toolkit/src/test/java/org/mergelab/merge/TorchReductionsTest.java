package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

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

    @Test
    void aStreamedSumEqualsTheWholeOneWhateverTheChunks() throws IOException {
        for (JsonNode c : cases()) {
            int n = c.get("n").asInt();
            float[] x = vector(c.get("seed").asLong(), n);
            for (int chunk : new int[] {32, 4096, TensorStream.CHUNK}) {
                if (n < 8) continue; // below one vector torch adds plainly; there is nothing to stream
                TorchReductions.CascadeSum s = new TorchReductions.CascadeSum(n);
                for (int off = 0; off < n; off += chunk) s.add(x, off, Math.min(chunk, n - off));
                assertEquals(c.get("sum").asInt(), Float.floatToRawIntBits(s.result()), "streamed sum of " + n);
            }
        }
    }
}
