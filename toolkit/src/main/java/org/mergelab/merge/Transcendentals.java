package org.mergelab.merge;

/**
 * Where slerp, nuslerp, multislerp and karcher take acos, sin and cos of their float32 angles and cosines.
 *
 * <p>Why this is pluggable: these few scalars are the only values of those methods that MergeLab cannot reproduce
 * bit for bit. mergekit calls {@code torch.acos}, {@code torch.sin} and {@code torch.cos}, which torch's x86 builds
 * hand to Intel MKL's vector math library (VML, high-accuracy mode). Its results are within one ulp but not
 * correctly rounded (on 2 million uniform arguments, 9% of acos and 5% of sin values differ from the correctly
 * rounded float), its algorithms are closed, and torch builds without MKL (ARM, macOS) use SLEEF instead, with
 * other last bits. MergeLab therefore rounds Java's double-precision functions to float, which is correctly rounded
 * save in the rarest ties, and moves a merged element by a few float32 ulps at most where mergekit's library rounded
 * the other way. The conformance tests replay the values torch returned ({@code transcendentals.json} beside each
 * golden) through this interface and then require every output bit to equal mergekit's.
 *
 * <p>Implementations must be thread-safe: a merge calls them from every worker thread.
 */
public interface Transcendentals {
    /** Java's double-precision functions, rounded to float: MergeLab's default. */
    Transcendentals ROUNDED_FROM_DOUBLE = new Transcendentals() {
        @Override
        public float acos(float x) { return (float) Math.acos(x); }

        @Override
        public float sin(float x) { return (float) Math.sin(x); }

        @Override
        public float cos(float x) { return (float) Math.cos(x); }

        @Override
        public String toString() { return "rounded from double"; }
    };

    float acos(float x);

    float sin(float x);

    float cos(float x);
}
