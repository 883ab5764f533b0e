package org.mergelab.merge;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.mergelab.io.Half;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * Spherical interpolation between the base {@code a} and the other model {@code b}, over each whole tensor seen as
 * one vector: with {@code θ} the angle between them,
 * {@code out = sin((1-t)θ)/sin θ · a + sin(tθ)/sin θ · b}. When the two are almost colinear
 * ({@code |cos θ| > 0.9995}) it falls back to linear interpolation {@code (1-t)a + t b}, as mergekit does.
 * {@code t = 0} gives the base, {@code t = 1} the other model.
 */
public final class SlerpMerge implements MergeMethod, StreamingMerge {
    /** mergekit's threshold on |cos θ| above which it interpolates linearly. */
    public static final double DOT_THRESHOLD = 0.9995;
    /** Norms at or below this are treated as 1: a zero tensor is not normalised. */
    public static final double EPS = 1e-8;
    /** mergekit bounds its float32 scratch by working on chunks of this many elements. */
    static final int CHUNK = 1024 * 1024;

    @Override
    public String name() { return "slerp"; }

    @Override
    public String prettyName() { return "SLERP"; }

    @Override
    public String reference() { return "https://en.wikipedia.org/wiki/Slerp"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.sharedRequired("t", Type.FLOAT));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 2, 2); }

    @Override
    public OptionalPolicy optionalPolicy() { return OptionalPolicy.PASSTHROUGH_SINGLETON; }

    @Override
    public float[] merge(TensorInputs in) {
        float[] a = in.base();
        float[] b = in.tensor(1 - in.baseIndex());
        // The engine writes the result out before this thread starts its next tensor: a reused buffer will do.
        return slerpInto(BufferPool.get(7, in.numel()), (float) in.sharedDouble("t"), a, b, in.numel(),
                in.transcendentals());
    }

    /** The coefficients (of a, of b) SLERP uses for two tensors, and whether the colinear fallback fired. */
    public record Coefficients(float ofA, float ofB, double cosine, boolean linear) {}

    public static Coefficients coefficients(float t, float[] a, float[] b, int n) {
        return coefficients(t, a, b, n, Transcendentals.ROUNDED_FROM_DOUBLE);
    }

    static Coefficients coefficients(float t, float[] a, float[] b, int n, Transcendentals f) {
        // mergekit 0.1.5 computes these in float32 (norms of 1M-element chunks, then the norm of those; the dot
        // product of the normalised tensors), reproduced here in torch's order of additions.
        float na = nonZero(norm(a, n)), nb = nonZero(norm(b, n));
        float dot = 0f;
        for (int start = 0; start < n; start += CHUNK) {
            dot += normalizedDot(a, b, start, Math.min(CHUNK, n - start), na, nb);
        }
        return fromDot(t, dot, f);
    }

    /** A norm at or below eps is taken as 1: a zero tensor is not normalised. */
    private static float nonZero(float norm) {
        return norm > EPS ? norm : 1f;
    }

    /** Σ (a/na)(b/nb) over one chunk, summed in torch's order. */
    private static float normalizedDot(float[] a, float[] b, int start, int len, float na, float nb) {
        if (len >= 8) return new TorchReductions.CascadeSum(len).addProducts(a, b, start, len, na, nb).result();
        float[] prod = new float[len];
        for (int i = 0; i < len; i++) prod[i] = (a[start + i] / na) * (b[start + i] / nb);
        return TorchReductions.sum(prod, 0, len);
    }

    /** The coefficients from the clamped cosine, with the colinear fallback. */
    private static Coefficients fromDot(float t, float dot, Transcendentals f) {
        dot = Math.max(-1f, Math.min(1f, dot));
        boolean linear = Math.abs(dot) > DOT_THRESHOLD;
        if (linear) return new Coefficients(1f - t, t, dot, true);
        float theta = f.acos(dot);
        float sinTheta = f.sin(theta);
        float ofA = f.sin((1f - t) * theta) / sinTheta;
        float ofB = f.sin(t * theta) / sinTheta;
        return new Coefficients(ofA, ofB, dot, false);
    }

    /**
     * The same computation a chunk at a time, in three passes over the inputs as mergekit makes them (chunk norms,
     * then the normalised dot product, then the interpolation): the chunks are mergekit's own, so the result equals
     * {@link #merge}'s bit for bit.
     */
    @Override
    public void stream(TensorStream in, TensorStream.Output out) throws IOException {
        TensorInputs m = in.meta();
        int ia = m.baseIndex(), ib = 1 - ia;
        float t = (float) m.sharedDouble("t");
        ByteBuffer ha = in.bf16(ia), hb = in.bf16(ib);
        Passes passes = VectorSupport.ENABLED && ha != null && hb != null
                ? new Bf16Passes(ha, hb) : new FloatPasses(in, ia, ib);
        int chunks = in.chunks();
        float[] partsA = new float[chunks], partsB = new float[chunks];
        for (int c = 0; c < chunks; c++) {
            TorchReductions.NormSum sa = new TorchReductions.NormSum(), sb = new TorchReductions.NormSum();
            passes.norms(c * (long) TensorStream.CHUNK, in.chunkLength(c), sa, sb);
            partsA[c] = sa.result();
            partsB[c] = sb.result();
        }
        float na = nonZero(TorchReductions.norm(partsA, 0, chunks));
        float nb = nonZero(TorchReductions.norm(partsB, 0, chunks));
        float dot = 0f;
        for (int c = 0; c < chunks; c++) {
            int len = in.chunkLength(c);
            long at = c * (long) TensorStream.CHUNK;
            if (len < 8) {
                float[] whole = new float[len], other = new float[len];
                passes.read(at, whole, other, len);
                dot += normalizedDot(whole, other, 0, len, na, nb);
            } else {
                dot += passes.products(at, new TorchReductions.CascadeSum(len), na, nb).result();
            }
        }
        Coefficients coef = fromDot(t, dot, m.transcendentals());
        float[] o = BufferPool.get(3, TensorStream.CHUNK);
        for (int c = 0; c < chunks; c++) {
            int len = in.chunkLength(c);
            passes.interpolate(c * (long) TensorStream.CHUNK, len, coef.ofA(), coef.ofB(), o);
            out.write(c, o, len);
        }
    }

    /** {@link #stream}'s three passes over one chunk of both inputs. */
    private interface Passes {
        /** Elements {@code [at, at + len)} of both inputs as floats. */
        void read(long at, float[] a, float[] b, int len);

        /** Adds the chunk's squares to the two norms. */
        void norms(long at, int len, TorchReductions.NormSum sa, TorchReductions.NormSum sb);

        /** Adds the chunk's normalised products to {@code sum}, which covers the chunk exactly. */
        TorchReductions.CascadeSum products(long at, TorchReductions.CascadeSum sum, float na, float nb);

        /** {@code o[i] = ca·a + cb·b} over the chunk. */
        void interpolate(long at, int len, float ca, float cb, float[] o);
    }

    /** Float pieces of each chunk, read through the stream (any dtype, rounded to the work dtype). */
    private static final class FloatPasses implements Passes {
        private final TensorStream in;
        private final int ia, ib;
        private final int block = TensorStream.BLOCK;
        private final float[] a = BufferPool.get(0, block), b = BufferPool.get(1, block);

        FloatPasses(TensorStream in, int ia, int ib) {
            this.in = in;
            this.ia = ia;
            this.ib = ib;
        }

        @Override
        public void read(long at, float[] x, float[] y, int len) {
            in.read(ia, at, x, len);
            in.read(ib, at, y, len);
        }

        @Override
        public void norms(long at, int len, TorchReductions.NormSum sa, TorchReductions.NormSum sb) {
            for (int off = 0; off < len; off += block) {
                int k = Math.min(block, len - off);
                read(at + off, a, b, k);
                TorchReductions.NormSum.addBoth(sa, a, sb, b, k);
            }
        }

        @Override
        public TorchReductions.CascadeSum products(long at, TorchReductions.CascadeSum sum, float na, float nb) {
            for (int off = 0; off < sum.length(); off += block) {
                int k = Math.min(block, sum.length() - off);
                read(at + off, a, b, k);
                sum.addProducts(a, b, 0, k, na, nb);
            }
            return sum;
        }

        @Override
        public void interpolate(long at, int len, float ca, float cb, float[] o) {
            for (int off = 0; off < len; off += block) {
                int k = Math.min(block, len - off);
                read(at + off, a, b, k);
                if (VectorSupport.ENABLED) {
                    VectorLanes.interpolate(ca, a, cb, b, o, off, k);
                } else {
                    for (int i = 0; i < k; i++) o[off + i] = ca * a[i] + cb * b[i];
                }
            }
        }
    }

    /**
     * Two mapped bf16 inputs, each pass decoding as it computes: the same lanes, operations and order as
     * {@link FloatPasses}, so the same bits, without writing a float copy of every piece and reading it back.
     */
    private record Bf16Passes(ByteBuffer ha, ByteBuffer hb) implements Passes {
        @Override
        public void read(long at, float[] a, float[] b, int len) {
            for (int i = 0; i < len; i++) {
                a[i] = Half.bf16ToFloat(ha.getShort(Math.toIntExact((at + i) << 1)));
                b[i] = Half.bf16ToFloat(hb.getShort(Math.toIntExact((at + i) << 1)));
            }
        }

        @Override
        public void norms(long at, int len, TorchReductions.NormSum sa, TorchReductions.NormSum sb) {
            TorchReductions.NormSum.addBothBf16(sa, ha, sb, hb, Math.toIntExact(at), len);
        }

        @Override
        public TorchReductions.CascadeSum products(long at, TorchReductions.CascadeSum sum, float na, float nb) {
            return sum.addProductsBf16(ha, hb, Math.toIntExact(at), sum.length(), na, nb);
        }

        @Override
        public void interpolate(long at, int len, float ca, float cb, float[] o) {
            int full = len - len % 16;
            VectorLanes.interpolateBf16(ca, ha, cb, hb, Math.toIntExact(at), o, 0, full);
            float[] a = new float[len - full], b = new float[len - full];
            read(at + full, a, b, len - full);
            for (int i = 0; i < len - full; i++) o[full + i] = ca * a[i] + cb * b[i];
        }
    }

    /** mergekit's chunked norm: the norm of the per-chunk norms. */
    private static float norm(float[] x, int n) {
        int chunks = Math.max(1, (n + CHUNK - 1) / CHUNK);
        float[] parts = new float[chunks];
        for (int c = 0; c < chunks; c++) {
            int start = c * CHUNK;
            parts[c] = TorchReductions.norm(x, start, Math.min(CHUNK, n - start));
        }
        return TorchReductions.norm(parts, 0, chunks);
    }

    public static float[] slerp(float t, float[] a, float[] b, int n) {
        return slerpInto(new float[n], t, a, b, n, Transcendentals.ROUNDED_FROM_DOUBLE);
    }

    static float[] slerpInto(float[] out, float t, float[] a, float[] b, int n, Transcendentals f) {
        Coefficients c = coefficients(t, a, b, n, f);
        float ca = c.ofA(), cb = c.ofB();
        if (VectorSupport.ENABLED) {
            VectorLanes.interpolate(ca, a, cb, b, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) out[i] = ca * a[i] + cb * b[i];
        }
        return out;
    }
}
