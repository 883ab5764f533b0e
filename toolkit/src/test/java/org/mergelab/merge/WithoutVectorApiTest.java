package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.analysis.Divergence;
import org.mergelab.io.DType;
import org.mergelab.io.Tensor;
import org.mergelab.recipe.Recipe;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector} (a plain {@code java -cp}, IJava) must merge and
 * analyse with the scalar loops, and get the same bits as the vector kernels this JVM runs (and so must the forward
 * pass, whose exp has a vector form). The merges run in a child
 * JVM with this test's class path and no module flag; each prints a checksum of its tensors' bits.
 */
class WithoutVectorApiTest {
    @TempDir
    Path dir;

    static final List<String> METHODS = List.of("slerp", "dare_ties", "task_arithmetic", "linear");

    @Test
    void scalarLoopsRunAndMatchTheVectorKernels() throws Exception {
        assertTrue(VectorSupport.ENABLED, "the test JVM runs with the Vector API (surefire's argLine)");
        TestModels.qwen2Family(dir, DType.BF16, 64, 96, 20_011);

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), WithoutVectorApiTest.class.getName(), dir.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("vector=false"), out);
        for (String method : METHODS) {
            assertTrue(out.contains(method + " " + checksum(dir, method)), method + " differs:\n" + out);
        }
        assertTrue(out.contains("divergence rows=" + Divergence.between(dir.resolve("base"), dir.resolve("tuned1"))
                .rowCount()), out);
        assertTrue(out.contains("logits " + logitsChecksum(dir)), "the forward pass differs:\n" + out);
    }

    /** The child: each merge's checksum, the rows of a divergence table. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        System.out.println("vector=" + VectorSupport.ENABLED);
        for (String method : METHODS) System.out.println(method + " " + checksum(dir, method));
        System.out.println("divergence rows="
                + Divergence.between(dir.resolve("base"), dir.resolve("tuned1")).rowCount());
        System.out.println("logits " + logitsChecksum(dir));
    }

    /** The forward pass (softmax and SiLU use the vector exp where the JVM has the module): every logit's bits. */
    static long logitsChecksum(Path dir) {
        org.mergelab.model.Transformer t = org.mergelab.model.Model.load(dir.resolve("base")).transformer();
        float[] logits = t.logitsForAll(t.newCache(64), 1, 5, 9, 2, 7, 3, 11, 4, 8, 6, 10, 12);
        CRC32 crc = new CRC32();
        for (float v : logits) {
            int b = Float.floatToRawIntBits(v);
            crc.update(new byte[] {(byte) b, (byte) (b >>> 8), (byte) (b >>> 16), (byte) (b >>> 24)});
        }
        return crc.getValue();
    }

    static long checksum(Path dir, String method) {
        String models = switch (method) {
            case "slerp" -> "  - model: " + dir.resolve("base") + "\n  - model: " + dir.resolve("tuned1")
                    + "\nparameters:\n  t: [0.2, 0.7]\n";
            case "linear" -> "  - model: " + dir.resolve("base") + "\n    parameters: {weight: 0.3}\n"
                    + "  - model: " + dir.resolve("tuned1") + "\n    parameters: {weight: 0.6}\n";
            default -> "  - model: " + dir.resolve("tuned1") + "\n    parameters: {weight: 0.6, density: 0.4}\n"
                    + "  - model: " + dir.resolve("tuned2") + "\n    parameters: {weight: 0.5, density: 0.7}\n";
        };
        Recipe r = Recipe.parse("base_model: " + dir.resolve("base") + "\nmerge_method: " + method
                + "\ndtype: bfloat16\nmodels:\n" + models);
        Map<String, Tensor> merged = new TreeMap<>(Merge.inMemory(r, MergeOptions.defaults().withRandomSeed(7)
                .withThreads(2)).tensors());
        CRC32 crc = new CRC32();
        for (Map.Entry<String, Tensor> e : merged.entrySet()) {
            crc.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            for (float v : e.getValue().data()) {
                int b = Float.floatToRawIntBits(v);
                crc.update(new byte[] {(byte) b, (byte) (b >>> 8), (byte) (b >>> 16), (byte) (b >>> 24)});
            }
        }
        return crc.getValue();
    }
}
