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
        long h = 0xcbf29ce484222325L; // FNV-1a over the name's UTF-8 bytes
        for (byte b : tensor.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        long mixed = mix64(mix64(seed ^ 0x9e3779b97f4a7c15L) ^ h);
        return new SplittableRandom(mix64(mixed + 0x9e3779b97f4a7c15L * (input + 1L)));
    }

    /** Stafford's variant 13 of the MurmurHash3 finaliser: every input bit affects every output bit. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
