package org.mergelab.merge;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * The random numbers of a merge (DARE's and DELLA's masks, arcee_fusion's quantile sample), drawn so that a seed
 * reproduces a merge exactly whatever the thread count and the order tensors run in: each (output tensor, input
 * model) pair has its own stream, derived from the seed, the tensor's name and the model's position among the
 * tensor's inputs. mergekit draws from torch's one global generator instead, so its masks depend on task order and
 * cannot be reproduced here; what is reproduced is their distribution.
 */
public final class RandomStreams {
    private final long seed;

    private RandomStreams(long seed) {
        this.seed = seed;
    }

    public static RandomStreams seeded(long seed) {
        return new RandomStreams(seed);
    }

    public long seed() {
        return seed;
    }

    /** The stream for input {@code input} (its position among the tensor's inputs) of output tensor {@code tensor}. */
    public SplittableRandom stream(String tensor, int input) {
        return new SplittableRandom(key(tensor, input));
    }

    /** The 64-bit key of (output tensor, input) under this seed: what {@link #uniform} hashes element indices with. */
    public long key(String tensor, int input) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the name's UTF-8 bytes
        for (byte b : tensor.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        long mixed = mix64(mix64(seed ^ 0x9e3779b97f4a7c15L) ^ h);
        return mix64(mixed + 0x9e3779b97f4a7c15L * (input + 1L));
    }

    /**
     * A uniform number in [0, 1) for element {@code index} under {@code key}: a counter-based draw (two rounds of an
     * integer hash over the index and the key), so a mask can be drawn for any part of a tensor in any order and
     * drawn again identically: a streamed merge makes two passes over its inputs, and masks do not depend on how the
     * tensor is split into chunks or threads. 24 bits of resolution, like a float32 drawn by torch.
     */
    public static float uniform(long key, long index) {
        int h = hash32((int) index ^ (int) key);
        h = hash32(h ^ (int) (key >>> 32) ^ (int) (index >>> 32));
        return (h >>> 8) * 0x1.0p-24f;
    }

    /** {@link #uniform} for indices {@code start .. start + n - 1} into {@code u[0..n)}. */
    public static void fill(long key, long start, float[] u, int n) {
        int lo = (int) key, hi = (int) (key >>> 32) ^ (int) (start >>> 32);
        int first = (int) start;
        if ((start >>> 32) != ((start + n - 1) >>> 32)) {
            for (int i = 0; i < n; i++) u[i] = uniform(key, start + i);
            return;
        }
        int i = VectorSupport.ENABLED ? DareLanes.fill(first, lo, hi, u, n) : 0;
        for (; i < n; i++) {
            int h = hash32((first + i) ^ lo);
            h = hash32(h ^ hi);
            u[i] = (h >>> 8) * 0x1.0p-24f;
        }
    }

    /** Wellons' lowbias32: a well-mixed 32-bit permutation (multiplications and shifts, so it vectorises). */
    static int hash32(int x) {
        x ^= x >>> 16;
        x *= 0x7feb352d;
        x ^= x >>> 15;
        x *= 0x846ca68b;
        x ^= x >>> 16;
        return x;
    }

    /** Stafford's variant 13 of the MurmurHash3 finaliser: every input bit affects every output bit. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
