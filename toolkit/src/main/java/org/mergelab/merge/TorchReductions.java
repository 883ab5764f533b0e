package org.mergelab.merge;

import java.nio.ByteBuffer;
import org.mergelab.io.Half;

/**
 * float32 reductions in the order torch 2.x's CPU kernels add (the AVX2 kernels, which torch also dispatches to on
 * AVX-512 machines for these operations), so that a method computing norms and sums in float32, as mergekit does,
 * gets mergekit's bits rather than a more accurate but different float. Measured against torch 2.15 on vectors of
 * 1 to 32,768 elements:
 * <ul>
 *   <li>{@link #sum}: torch's cascade sum ({@code x.sum()}, {@code x.sum(dim=-1)} over contiguous rows): eight-lane
 *       vectors accumulated four at a time in a four-level cascade, the scalar tail first, then the lanes;</li>
 *   <li>{@link #sumStrided}: along a strided axis, with the outputs side by side: each output of a whole group of 32
 *       (four eight-lane vectors of outputs; of 4 when there are under 8 outputs) is a cascade of its own elements in
 *       order; each of the remaining outputs the same cascade over four interleaved accumulators;</li>
 *   <li>{@link #norm}: {@code torch.linalg.vector_norm} / {@code torch.norm(dim=-1)} over contiguous data: eight
 *       lanes of {@code acc += x·x}, lanes folded left to right, then the tail four squares at a time and the last
 *       few with a fused multiply-add (as the compiled tail loop does);</li>
 *   <li>{@link #normStrided}: along a strided axis, plain sequential {@code acc += x·x}.</li>
 * </ul>
 * Half-precision inputs (their float values) are reduced in the same order; torch reduces them in float32 with
 * 16-element loads, so a float result may differ in its last bits, which the final rounding to bfloat16 or float16
 * almost always hides. Sums over a thread-split tensor (over 32,768 elements with several torch threads) follow
 * torch's single-thread order.
 */
final class TorchReductions {
    private static final int LANES = 8;
    private static final int ILP = 4;
    private static final int LEVELS = 4;

    private TorchReductions() {}

    /** {@code Σ x[off + i]} for {@code i < n}, in torch's cascade order. */
    static float sum(float[] x, int off, int n) {
        if (n >= LANES) return new CascadeSum(n).add(x, off, n).result();
        return rowSum(x, off, 1, 1, 1, n)[0];
    }

    /** The general form of {@link #sum} (any length; a reference for {@link CascadeSum}). */
    static float sumGeneral(float[] x, int off, int n) {
        if (n >= LANES) {
            int vectors = n / LANES;
            float[] lanes = rowSum(x, off, LANES, 1, LANES, vectors);
            float acc = 0f;
            for (int k = vectors * LANES; k < n; k++) acc += x[off + k];
            for (int j = 0; j < LANES; j++) acc += lanes[j];
            return acc;
        }
        return rowSum(x, off, 1, 1, 1, n)[0];
    }

    /**
     * {@code Σ x[off + i·stride]} for {@code i < n}, as torch reduces a strided (non-innermost) axis: this sum is
     * output {@code output} of {@code outputs} laid side by side. torch's outer-reduction kernel adds four vectors of
     * outputs at a time (four outputs, when there are fewer than one vector of them), each lane down its own column;
     * the outputs left over go through its scalar loop, which interleaves four accumulators.
     */
    static float sumStrided(float[] x, int off, int n, int stride, int output, int outputs) {
        int group = outputs < LANES ? ILP : ILP * LANES;
        if (output < outputs - outputs % group) return multiRowSum(x, off, stride, 0, 0, 1, n, 1)[0][0];
        return rowSum(x, off, stride, 1, 1, n)[0];
    }

    /** The cascade of a sum of {@code size} elements, each {@code width} lanes wide. */
    private static float[] rowSum(float[] x, int base, int elemStep, int laneStep, int width, int size) {
        int sizeIlp = size / ILP;
        float[][] partial = multiRowSum(x, base, ILP * elemStep, elemStep, laneStep, width, sizeIlp, ILP);
        for (int i = sizeIlp * ILP; i < size; i++) {
            for (int l = 0; l < width; l++) partial[0][l] += x[base + i * elemStep + l * laneStep];
        }
        for (int k = 1; k < ILP; k++) {
            for (int l = 0; l < width; l++) partial[0][l] += partial[k][l];
        }
        return partial[0];
    }

    /** The four-level cascade over {@code size} rows of {@code ilp} interleaved accumulators, {@code width} wide. */
    private static float[][] multiRowSum(float[] x, int base, int rowStride, int colStride, int laneStep, int width,
                                         int size, int ilp) {
        int levelPower = Math.max(4, ceilLog2(size) / LEVELS);
        int levelStep = 1 << levelPower;
        int levelMask = levelStep - 1;
        float[][][] acc = new float[LEVELS][ilp][width];
        int i = 0;
        while (i + levelStep <= size) {
            for (int j = 0; j < levelStep; j++, i++) addRow(acc[0], x, base + i * rowStride, colStride, laneStep);
            for (int lv = 1; lv < LEVELS; lv++) {
                for (int k = 0; k < ilp; k++) {
                    for (int l = 0; l < width; l++) {
                        acc[lv][k][l] += acc[lv - 1][k][l];
                        acc[lv - 1][k][l] = 0f;
                    }
                }
                if ((i & (levelMask << (lv * levelPower))) != 0) break;
            }
        }
        for (; i < size; i++) addRow(acc[0], x, base + i * rowStride, colStride, laneStep);
        for (int lv = 1; lv < LEVELS; lv++) {
            for (int k = 0; k < ilp; k++) {
                for (int l = 0; l < width; l++) acc[0][k][l] += acc[lv][k][l];
            }
        }
        return acc[0];
    }

    private static void addRow(float[][] acc, float[] x, int at, int colStride, int laneStep) {
        for (int k = 0; k < acc.length; k++) {
            float[] a = acc[k];
            for (int l = 0; l < a.length; l++) a[l] += x[at + k * colStride + l * laneStep];
        }
    }

    private static int ceilLog2(int n) {
        return n <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(n - 1);
    }

    /** {@code ‖x[off .. off + n)‖₂} as torch's contiguous vector norm computes it. */
    static float norm(float[] x, int off, int n) {
        return new NormSum().add(x, off, n).result();
    }

    /** {@code ‖x‖₂} along a strided axis. */
    static float normStrided(float[] x, int off, int n, int stride) {
        float b = 0f;
        for (int i = 0; i < n; i++) {
            float v = x[off + i * stride];
            b += v * v;
        }
        return (float) Math.sqrt(b);
    }

    /**
     * {@link #sum} of a contiguous vector fed in pieces, in order: torch's cascade over rows of 32 elements (four
     * eight-lane vectors), carried from level to level every {@code 2^levelPower} rows, the last few vectors and the
     * scalar tail added at the end. The state is a few dozen floats, so a tensor too large to hold can be summed
     * chunk by chunk and still get torch's bits, and the row loop runs on a flat array the JIT vectorises.
     */
    static final class CascadeSum {
        private static final int ROW = ILP * LANES;
        private final int n;
        private final int vectors;
        private final int rows;
        private final int levelPower;
        private final int levelMask;
        private final int levelStep;
        private final float[] acc = new float[LEVELS * ROW];
        private final float[] tail = new float[2 * ROW + LANES];
        private final float[] pending = new float[ROW];
        private int pendingLen;
        private int tailLen;
        private int rowsDone;
        private int inGroup;
        private long consumed;

        CascadeSum(int n) {
            if (n < LANES) throw new IllegalArgumentException("a cascade needs at least " + LANES + " elements");
            this.n = n;
            this.vectors = n / LANES;
            this.rows = vectors / ILP;
            this.levelPower = Math.max(4, ceilLog2(rows) / LEVELS);
            this.levelStep = 1 << levelPower;
            this.levelMask = levelStep - 1;
        }

        /** Elements the sum covers. */
        int length() {
            return n;
        }

        /** Adds the next {@code len} elements, {@code x[off .. off + len)}. */
        CascadeSum add(float[] x, int off, int len) {
            return add(x, null, off, len, 1f, 1f);
        }

        /**
         * Adds the next {@code len} products {@code (a[i] / na) · (b[i] / nb)} for {@code i} in
         * {@code [off, off + len)}, as {@link #add} would add them stored: SLERP's normalised dot product in one pass.
         */
        CascadeSum addProducts(float[] a, float[] b, int off, int len, float na, float nb) {
            return add(a, b, off, len, na, nb);
        }

        /** The elements {@code x[i]}, or the products {@code (x[i] / nx) · (y[i] / ny)} when {@code y} is given. */
        private CascadeSum add(float[] x, float[] y, int off, int len, float nx, float ny) {
            if (consumed + len > n) throw new IllegalArgumentException("more than " + n + " elements");
            long rowElements = (long) rows * ROW;
            int i = 0;
            while (i < len) {
                if (consumed < rowElements) {
                    int fullRows = (int) Math.min((len - i) / ROW, (rowElements - consumed) / ROW);
                    if (pendingLen == 0 && fullRows > 0) {
                        int run = Math.min(fullRows, levelStep - inGroup);
                        addRows(x, y, off + i, nx, ny, run);
                        i += run * ROW;
                        consumed += (long) run * ROW;
                    } else {
                        pending[pendingLen++] = value(x, y, off + i++, nx, ny);
                        consumed++;
                        if (pendingLen == ROW) {
                            addRows(pending, null, 0, 1f, 1f, 1);
                            pendingLen = 0;
                        }
                    }
                } else {
                    tail[tailLen++] = value(x, y, off + i++, nx, ny);
                    consumed++;
                }
            }
            return this;
        }

        /**
         * {@link #addProducts} of bf16 elements {@code [at, at + len)} of {@code a} and {@code b} (stored
         * little-endian bytes): the whole rows are read straight from the bytes ({@link VectorSupport#ENABLED} only),
         * anything else is widened to floats and added as {@link #addProducts} adds it.
         */
        CascadeSum addProductsBf16(ByteBuffer a, ByteBuffer b, int at, int len, float na, float nb) {
            if (consumed + len > n) throw new IllegalArgumentException("more than " + n + " elements");
            long rowElements = (long) rows * ROW;
            int i = 0;
            while (VectorSupport.ENABLED && pendingLen == 0 && consumed < rowElements) {
                int fullRows = (int) Math.min((len - i) / ROW, (rowElements - consumed) / ROW);
                if (fullRows == 0) break;
                int run = Math.min(fullRows, levelStep - inGroup);
                VectorLanes.addProductRowsBf16(acc, a, b, at + i, na, nb, run);
                rowsAdded(run);
                i += run * ROW;
                consumed += (long) run * ROW;
            }
            float[] x = new float[ROW], y = new float[ROW];
            while (i < len) {
                int m = Math.min(ROW, len - i);
                for (int k = 0; k < m; k++) {
                    x[k] = Half.bf16ToFloat(a.getShort((at + i + k) << 1));
                    y[k] = Half.bf16ToFloat(b.getShort((at + i + k) << 1));
                }
                add(x, y, 0, m, na, nb);
                i += m;
            }
            return this;
        }

        private static float value(float[] x, float[] y, int i, float nx, float ny) {
            return y == null ? x[i] : (x[i] / nx) * (y[i] / ny);
        }

        /** Adds {@code run} rows, no more than reach the end of the current level group, then carries if it ends. */
        private void addRows(float[] x, float[] y, int at, float nx, float ny, int run) {
            if (VectorSupport.ENABLED) {
                if (y == null) VectorLanes.addRows(acc, x, at, run);
                else VectorLanes.addProductRows(acc, x, y, at, nx, ny, run);
            } else {
                for (int r = 0; r < run; r++, at += ROW) {
                    for (int j = 0; j < ROW; j++) acc[j] += value(x, y, at + j, nx, ny);
                }
            }
            rowsAdded(run);
        }

        /** Counts {@code run} rows just added to the first level, and carries if they end a level group. */
        private void rowsAdded(int run) {
            rowsDone += run;
            inGroup += run;
            if (inGroup == levelStep) carry();
        }

        /** A level group is full: its sums move up the cascade, as far as the count of rows done says. */
        private void carry() {
            inGroup = 0;
            for (int lv = 1; lv < LEVELS; lv++) {
                int to = lv * ROW, from = (lv - 1) * ROW;
                for (int j = 0; j < ROW; j++) {
                    acc[to + j] += acc[from + j];
                    acc[from + j] = 0f;
                }
                if ((rowsDone & (levelMask << (lv * levelPower))) != 0) break;
            }
        }

        float result() {
            if (consumed != n) throw new IllegalStateException(consumed + " of " + n + " elements added");
            float[] p = acc.clone();
            for (int lv = 1; lv < LEVELS; lv++) {
                for (int j = 0; j < ROW; j++) p[j] += p[lv * ROW + j];
            }
            int leftover = (vectors - rows * ILP) * LANES;
            for (int v = 0; v < leftover; v += LANES) {
                for (int l = 0; l < LANES; l++) p[l] += tail[v + l];
            }
            for (int k = 1; k < ILP; k++) {
                for (int l = 0; l < LANES; l++) p[l] += p[k * LANES + l];
            }
            float sum = 0f;
            for (int k = leftover; k < tailLen; k++) sum += tail[k];
            for (int l = 0; l < LANES; l++) sum += p[l];
            return sum;
        }
    }

    /**
     * {@link #norm} of a contiguous vector fed in pieces whose lengths are multiples of eight (the last may be
     * anything): the eight lane accumulators carry over, and the tail is handled when the result is asked for.
     */
    static final class NormSum {
        private final float[] acc = new float[LANES];
        private final float[] tail = new float[LANES];
        private int tailLen;

        NormSum add(float[] x, int off, int len) {
            if (tailLen > 0) throw new IllegalStateException("only the last piece may have a partial vector");
            int full = len - len % LANES;
            if (VectorSupport.ENABLED) {
                VectorLanes.sumSquares(acc, x, off, full);
            } else {
                for (int d = 0; d < full; d += LANES) {
                    for (int j = 0; j < LANES; j++) {
                        float v = x[off + d + j];
                        acc[j] += v * v;
                    }
                }
            }
            for (int d = full; d < len; d++) tail[tailLen++] = x[off + d];
            return this;
        }

        /** {@code sa.add(a, 0, len)} and {@code sb.add(b, 0, len)} in one pass over both. */
        static void addBoth(NormSum sa, float[] a, NormSum sb, float[] b, int len) {
            if (!VectorSupport.ENABLED || sa.tailLen > 0 || sb.tailLen > 0) {
                sa.add(a, 0, len);
                sb.add(b, 0, len);
                return;
            }
            int full = len - len % LANES;
            VectorLanes.sumSquares(sa.acc, a, sb.acc, b, full);
            for (int d = full; d < len; d++) {
                sa.tail[sa.tailLen++] = a[d];
                sb.tail[sb.tailLen++] = b[d];
            }
        }

        /**
         * {@link #addBoth} of bf16 elements {@code [at, at + len)} of {@code a} and {@code b} (stored little-endian
         * bytes), read straight from the bytes where {@link VectorSupport#ENABLED}: the same lanes, the same bits.
         */
        static void addBothBf16(NormSum sa, ByteBuffer a, NormSum sb, ByteBuffer b, int at, int len) {
            int full = VectorSupport.ENABLED && sa.tailLen == 0 && sb.tailLen == 0 ? len - len % 16 : 0;
            if (full > 0) VectorLanes.sumSquaresBf16(sa.acc, a, sb.acc, b, at, full);
            int rest = len - full;
            if (rest == 0) return;
            float[] x = new float[rest], y = new float[rest];
            for (int k = 0; k < rest; k++) {
                x[k] = Half.bf16ToFloat(a.getShort((at + full + k) << 1));
                y[k] = Half.bf16ToFloat(b.getShort((at + full + k) << 1));
            }
            addBoth(sa, x, sb, y, rest);
        }

        float result() {
            float b = acc[0];
            for (int j = 1; j < LANES; j++) b += acc[j];
            int d = 0;
            for (; tailLen - d >= 4; d += 4) {
                for (int j = 0; j < 4; j++) {
                    float v = tail[d + j];
                    b += v * v;
                }
            }
            for (; d < tailLen; d++) b = Math.fma(tail[d], tail[d], b);
            return (float) Math.sqrt(b);
        }
    }
}
