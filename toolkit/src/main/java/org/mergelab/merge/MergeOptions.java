package org.mergelab.merge;

import java.util.Set;

/**
 * How to run a merge, grouped by concern. The defaults match {@code mergekit-yaml}'s where both have the option.
 *
 * @param overwrite       replace an existing output folder (once the new one is complete)
 * @param outShardBytes   largest output shard, in bytes (mergekit's {@code --out-shard-size}, default 5B)
 * @param threads         worker threads (default: every core)
 * @param copyTokenizer   copy the donor's tokenizer files
 * @param writeModelCard  write README.md and mergekit_config.yml
 * @param progress        receives progress as tensors finish (may be {@link Progress#NONE})
 * @param randomSeed      seed of the random numbers DARE, DELLA and arcee_fusion draw (mergekit's
 *                        {@code --random-seed}); null draws one, which the {@link MergeReport} records
 * @param corrections     departures from mergekit's behaviour to apply (none by default: mergekit's results)
 * @param allowCrimes     merge models of different (known) architectures, with the base's layout (mergekit's
 *                        {@code --allow-crimes})
 * @param safeSerialization write safetensors (the default); false writes PyTorch {@code pytorch_model.bin} shards
 * @param transcendentals where the SLERP-family methods take acos, sin and cos (see {@link Transcendentals})
 */
public record MergeOptions(boolean overwrite, long outShardBytes, int threads, boolean copyTokenizer,
                           boolean writeModelCard, Progress progress, Long randomSeed, Set<Correction> corrections,
                           boolean allowCrimes, boolean safeSerialization, Transcendentals transcendentals) {
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    public MergeOptions {
        corrections = Set.copyOf(corrections);
        java.util.Objects.requireNonNull(transcendentals, "transcendentals");
    }

    /** Where a notebook integration is installed, every merge started from the defaults reports progress there. */
    private static volatile java.util.function.Supplier<Progress> defaultProgress = () -> Progress.NONE;

    public static MergeOptions defaults() {
        return new MergeOptions(false, DEFAULT_SHARD_BYTES, Runtime.getRuntime().availableProcessors(), true, true,
                defaultProgress.get(), null, Set.of(), false, true, Transcendentals.ROUNDED_FROM_DOUBLE);
    }

    /**
     * Makes {@link #defaults()} start each merge with a fresh progress display from {@code factory}: the notebook
     * integration installs one so merges in a notebook show a progress bar without asking.
     */
    public static void setDefaultProgress(java.util.function.Supplier<Progress> factory) {
        defaultProgress = factory == null ? () -> Progress.NONE : factory;
    }

    /** The same random numbers on every run: a DARE or DELLA merge becomes reproducible. */
    public MergeOptions withRandomSeed(long v) {
        return new MergeOptions(overwrite, outShardBytes, threads, copyTokenizer, writeModelCard, progress, v,
                corrections, allowCrimes, safeSerialization, transcendentals);
    }

    /** Fix the mergekit behaviours named (see {@link Correction}); by default there are none. */
    public MergeOptions withCorrections(Set<Correction> v) {
        return new MergeOptions(overwrite, outShardBytes, threads, copyTokenizer, writeModelCard, progress, randomSeed,
                v, allowCrimes, safeSerialization, transcendentals);
    }

    public MergeOptions withOverwrite(boolean v) {
        return new MergeOptions(v, outShardBytes, threads, copyTokenizer, writeModelCard, progress, randomSeed,
                corrections, allowCrimes, safeSerialization, transcendentals);
    }

    public MergeOptions withOutShardBytes(long v) {
        return new MergeOptions(overwrite, v, threads, copyTokenizer, writeModelCard, progress, randomSeed,
                corrections, allowCrimes, safeSerialization, transcendentals);
    }

    public MergeOptions withThreads(int v) {
        return new MergeOptions(overwrite, outShardBytes, Math.max(1, v), copyTokenizer, writeModelCard, progress,
                randomSeed, corrections, allowCrimes, safeSerialization, transcendentals);
    }

    public MergeOptions withCopyTokenizer(boolean v) {
        return new MergeOptions(overwrite, outShardBytes, threads, v, writeModelCard, progress, randomSeed,
                corrections, allowCrimes, safeSerialization, transcendentals);
    }

    public MergeOptions withWriteModelCard(boolean v) {
        return new MergeOptions(overwrite, outShardBytes, threads, copyTokenizer, v, progress, randomSeed,
                corrections, allowCrimes, safeSerialization, transcendentals);
    }

    public MergeOptions withProgress(Progress v) {
        return new MergeOptions(overwrite, outShardBytes, threads, copyTokenizer, writeModelCard, v, randomSeed,
                corrections, allowCrimes, safeSerialization, transcendentals);
    }

    public MergeOptions withAllowCrimes(boolean v) {
        return new MergeOptions(overwrite, outShardBytes, threads, copyTokenizer, writeModelCard, progress, randomSeed,
                corrections, v, safeSerialization, transcendentals);
    }

    public MergeOptions withSafeSerialization(boolean v) {
        return new MergeOptions(overwrite, outShardBytes, threads, copyTokenizer, writeModelCard, progress, randomSeed,
                corrections, allowCrimes, v, transcendentals);
    }

    /**
     * Where slerp, nuslerp, multislerp and karcher take acos, sin and cos of float32 values (by default rounded
     * from double precision; see {@link Transcendentals}).
     */
    public MergeOptions withTranscendentals(Transcendentals v) {
        return new MergeOptions(overwrite, outShardBytes, threads, copyTokenizer, writeModelCard, progress, randomSeed,
                corrections, allowCrimes, safeSerialization, v);
    }

    /** Parses mergekit's size syntax: "5B", "500M", "1.5b", "10k" (decimal units), or plain bytes. */
    public static long parseSize(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        double mult = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        if (last == 'k' || last == 'm' || last == 'b') {
            mult = last == 'k' ? 1e3 : last == 'm' ? 1e6 : 1e9;
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t) * mult;
            if (v < 1) throw new NumberFormatException();
            return (long) v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + s + "' is not a size (examples: 5B, 500M, 10k)");
        }
    }

    /** Receives merge progress; called from worker threads. */
    public interface Progress {
        Progress NONE = (done, total, bytesDone, bytesTotal) -> {};

        void update(int tensorsDone, int tensorsTotal, long bytesDone, long bytesTotal);
    }
}
