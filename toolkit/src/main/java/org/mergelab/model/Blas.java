package org.mergelab.model;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix-matrix products for prefill through the OpenBLAS sgemm that ND4J's native backend ships with.
 * <p>
 * sgemm is called directly rather than through {@code Nd4j.gemm}, whose per-call overhead (40 to 160 microseconds
 * measured here, against under one for the same sgemm) would dominate the products of small models. OpenBLAS runs
 * single-threaded and MergeLab splits each product's output columns over its own threads instead: the same use of
 * the cores, without OpenBLAS's waiting threads competing with the JVM's on a busy 2-core machine.
 * <p>
 * The weights stay on the Java heap (decoding reads them there, which plain Java does fastest), so each product
 * first copies its operands into off-heap buffers that live as long as the thread: a weight's copy costs about
 * 17/T of the product for T rows, a few percent at the window sizes perplexity uses.
 */
final class Blas {
    /** Widest slice of a weight staged at once: keeps a vocabulary-sized head's staging to a few MB. */
    private static final int COLUMN_BLOCK = 8192;
    private static final ThreadLocal<FloatPointer[]> STAGING = ThreadLocal.withInitial(() -> new FloatPointer[8]);

    static {
        Nd4j.getBackend(); // loads ND4J's native stack, OpenBLAS included
        openblas.blas_set_num_threads(1);
    }

    private Blas() {}

    /**
     * {@code y[r][j] = sum_i x[r][i] * wt[i][j]} for r in [0, rows), j in [0, out): x is (rows, in), wt is
     * (in, out), y is (rows, out), all row-major.
     */
    static void matmul(float[] x, int rows, int in, float[] wt, int out, float[] y) {
        int perThread = (out + Parallel.THREADS - 1) / Parallel.THREADS;
        int block = Math.min(COLUMN_BLOCK, (perThread + 15) / 16 * 16);
        int blocks = (out + block - 1) / block;
        Parallel.range(blocks, 1, (long) rows * in * out, (from, to) -> {
            FloatPointer px = stage(0, x, rows * in);
            FloatPointer pw = buffer(1, (long) in * block);
            FloatPointer py = buffer(2, (long) rows * block);
            for (int b = from; b < to; b++) {
                int j0 = b * block, nb = Math.min(block, out - j0);
                if (nb == out) {
                    pw.put(wt, 0, in * out);
                } else {
                    for (int i = 0; i < in; i++) pw.position((long) i * nb).put(wt, i * out + j0, nb);
                    pw.position(0);
                }
                sgemm(rows, nb, in, px, 0, in, pw, 0, nb, py, 0, nb);
                if (nb == out) {
                    py.get(y, 0, rows * out);
                } else {
                    for (int r = 0; r < rows; r++) py.position((long) r * nb).get(y, r * out + j0, nb);
                    py.position(0);
                }
            }
        });
    }

    /** {@code src[0..n)} copied into this thread's off-heap buffer number {@code slot} (0..7), which is returned. */
    static FloatPointer stage(int slot, float[] src, int n) {
        FloatPointer p = buffer(slot, n);
        p.put(src, 0, n);
        return p;
    }

    /** This thread's off-heap buffer number {@code slot}, at least {@code n} floats, positioned at 0. */
    static FloatPointer buffer(int slot, long n) {
        FloatPointer[] slots = STAGING.get();
        FloatPointer p = slots[slot];
        if (p != null && p.capacity() >= n) return p.position(0);
        if (p != null) p.close();
        return slots[slot] = new FloatPointer(Math.max(n, 1024));
    }

    /**
     * Row-major {@code C (m, n) = A (m, k) B (k, n)} on off-heap operands at the given element offsets, with leading
     * dimensions (the distance between rows) {@code lda}, {@code ldb}, {@code ldc}. The buffers are not modified
     * (offsets are applied to views), so threads may share them.
     */
    static void sgemm(int m, int n, int k, FloatPointer a, long aOff, int lda, FloatPointer b, long bOff, int ldb,
                      FloatPointer c, long cOff, int ldc) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans, m, n, k, 1f,
                view(a, aOff), lda, view(b, bOff), ldb, 0f, view(c, cOff), ldc);
    }

    private static FloatPointer view(FloatPointer p, long offset) {
        return offset == 0 && p.position() == 0 ? p : new FloatPointer(p).position(offset);
    }
}
