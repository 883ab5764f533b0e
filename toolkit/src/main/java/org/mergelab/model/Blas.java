package org.mergelab.model;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products through the OpenBLAS that ND4J's native backend ships with, called directly: {@code Nd4j.gemm}
 * adds 40 to 160 microseconds per call (measured here, against under one for the same sgemm), which would dominate
 * the products of small models and of decoding.
 * <p>
 * OpenBLAS runs single-threaded and MergeLab shares each product over its own threads instead (a prefill's rows, a
 * decoding step's output columns): the same use of the cores, without OpenBLAS's waiting threads competing with the
 * JVM's on a busy machine.
 * Activations live on the Java heap and are copied into per-thread off-heap buffers for each product (small next
 * to the weights, which stay off-heap).
 */
final class Blas {
    private static final ThreadLocal<FloatPointer[]> STAGING = ThreadLocal.withInitial(() -> new FloatPointer[8]);

    static {
        Nd4j.getBackend(); // loads ND4J's native stack, OpenBLAS included
        openblas.blas_set_num_threads(1);
    }

    private Blas() {}

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
     * dimensions (the distance between rows) {@code lda}, {@code ldb}, {@code ldc}. The pointers are not modified
     * (offsets are applied to views), so threads may share them.
     */
    static void sgemm(int m, int n, int k, FloatPointer a, long aOff, int lda, FloatPointer b, long bOff, int ldb,
                      FloatPointer c, long cOff, int ldc) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans, m, n, k, 1f,
                view(a, aOff), lda, view(b, bOff), ldb, 0f, view(c, cOff), ldc);
    }

    /** {@code y (n) = A^T x} for A (m, n) row-major with leading dimension {@code lda}: one row through a layer. */
    static void sgemvTransposed(int m, int n, FloatPointer a, long aOff, int lda, FloatPointer x, long xOff,
                                FloatPointer y, long yOff) {
        openblas.cblas_sgemv(openblas.CblasRowMajor, openblas.CblasTrans, m, n, 1f, view(a, aOff), lda, view(x, xOff),
                1, 0f, view(y, yOff), 1);
    }

    private static FloatPointer view(FloatPointer p, long offset) {
        return offset == 0 && p.position() == 0 ? p : new FloatPointer(p).position(offset);
    }
}
