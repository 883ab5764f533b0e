package org.mergelab.analysis;

import java.util.List;
import org.mergelab.io.Checkpoint;

/**
 * The per-tensor work behind {@link TaskVectors}: for one tensor, the task vectors δᵢ = tunedᵢ − base of every
 * fine-tune (computed in float32, as a float32 merge computes them), and every figure the tables need. Unlike a
 * divergence this needs whole tensors at once (selecting the top k of a tensor, electing signs across models), so it
 * runs one tensor per thread with reused buffers, on as many threads as the heap has room for.
 */
final class TaskVectorScan {
    /** Histogram of log10 |δ|: bins of a tenth of a decade from 1e-8 to 10, plus one below and one above. */
    static final double HIST_MIN_LOG10 = -8;
    static final double HIST_MAX_LOG10 = 1;
    static final int HIST_PER_DECADE = 10;
    static final int HIST_BINS = (int) ((HIST_MAX_LOG10 - HIST_MIN_LOG10) * HIST_PER_DECADE) + 2;

    private TaskVectorScan() {}

    /** One model's task vector over one tensor. */
    static final class ModelStats {
        long numel;
        long nonFinite;
        double sumSqBase;
        double sum, sumSq, sumAbs, m2, m4;
        long zeros;
        long[] below;
        double top1Abs, top1Sq, top10Abs, top10Sq;
        double tiesAbs, tiesSq;
        long tiesKept;
        /** TIES's trimming threshold, reused by the sign figures. */
        TopK.Threshold ties;
        long dareKept;
        double dareAbs, dareSq;
        long[] histogram = new long[HIST_BINS];
    }

    /** Everything about one tensor: per-model stats, Σ δᵢδⱼ, and the sign figures across models. */
    static final class TensorStats {
        String name;
        long numel;
        ModelStats[] models;
        double[][] dots;
        long conflicts, conflictsTrimmed;
        double trimmedAbs, droppedAbs;
    }

    static List<TensorStats> run(Checkpoint base, List<Checkpoint> tuned, List<String> names,
                                 TaskVectors.Options options) {
        int n = tuned.size();
        long largest = names.stream().mapToLong(t -> base.info(t).numel()).max().orElse(0);
        // The tensors, and at most half of one for the elements of the top-k boundary cells.
        long perThread = (n + 1L) * largest * Float.BYTES + largest / 2 * Float.BYTES;
        long budget = Runtime.getRuntime().maxMemory() / 2;
        int threads = (int) Math.max(1, Math.min(Math.min(names.size(), Runtime.getRuntime().availableProcessors()),
                budget / Math.max(1, perThread)));
        long elements = names.stream().mapToLong(t -> base.info(t).numel()).sum() * n;
        boolean vector = PairKernel.VECTOR && elements >= PairKernel.VECTOR_MIN_PAIRS && VectorCheck.WORKS;
        TensorStats[] out = new TensorStats[names.size()];
        Workers.run(threads, names.size(), "mergelab-task-vectors", () -> new Buffers(n),
                (buf, i) -> out[i] = tensor(base, tuned, names.get(i), options, vector, buf));
        return List.of(out);
    }

    /** Loads {@link TaskVectorLanes} on first use and warms it up; a failure leaves the scalar loops in charge. */
    private static final class VectorCheck {
        static final boolean WORKS = check();

        private static boolean check() {
            try {
                float[] d = new float[256];
                for (int i = 0; i < d.length; i++) d[i] = (i % 7) * 0.25f - 0.5f;
                int[] q = atOrBelowBits(new double[] {0.1, 0.3, 0.6, 1});
                double[] sums = new double[4], expected = new double[4];
                long[] counts = new long[5], expectedCounts = new long[5];
                TaskVectorLanes.moments(d, 37, 0.1, q, sums, counts);
                moments(d, 0, 37, 0.1, q, expected, expectedCounts);
                if (!java.util.Arrays.equals(counts, expectedCounts)) return false;
                for (int k = 0; k < 4; k++) if (Math.abs(sums[k] - expected[k]) > 1e-12 * expected[k]) return false;
                // Until C2 compiles it, a Vector API loop runs a hundred times slower than the scalar one.
                org.mergelab.io.KernelWarmUp w = new org.mergelab.io.KernelWarmUp();
                int[] bounds = {TopK.magnitudeBits(0.3f) >>> CELL_SHIFT, TopK.magnitudeBits(0.6f) >>> CELL_SHIFT,
                    Integer.MAX_VALUE};
                double[] above = new double[2 * TOP_SETS], baseAndDelta = new double[2], dareSums = new double[2];
                float[] tuned = new float[d.length];
                long half = dareCutoff(0.5);
                while (w.more()) {
                    long t = System.nanoTime();
                    TaskVectorLanes.delta(d, tuned, d.length, baseAndDelta);
                    TaskVectorLanes.moments(d, d.length, 0.1, q, sums, counts);
                    TaskVectorLanes.aboveSums(d, d.length, bounds, above);
                    if (TaskVectorLanes.DARE) TaskVectorLanes.dare(d, d.length, t, half, false, dareSums);
                    w.took(System.nanoTime() - t);
                }
                return true;
            } catch (LinkageError | RuntimeException e) {
                return false;
            }
        }
    }

    /** One thread's arrays, reused from tensor to tensor. */
    static final class Buffers {
        /** The fine-tunes' task vectors, then the base. */
        final float[][] tensors;
        /** The magnitudes in each top-k boundary cell. */
        final float[][] inBin = new float[TOP_SETS][0];
        /** How many magnitudes fall in each cell (see {@link #CELL_BIN}), and how many of those lie above its bound. */
        final int[] cells = new int[CELLS], upper = new int[CELLS];

        Buffers(int models) {
            tensors = new float[models + 1][0];
        }

        float[] inBin(int slot, long size) {
            if (inBin[slot].length < size) inBin[slot] = new float[(int) size];
            return inBin[slot];
        }
    }

    private static TensorStats tensor(Checkpoint base, List<Checkpoint> tuned, String name,
                                      TaskVectors.Options o, boolean vector, Buffers buffers) {
        int numel = Math.toIntExact(base.info(name).numel());
        int n = tuned.size();
        float[][] buf = buffers.tensors;
        for (int m = 0; m <= n; m++) if (buf[m].length < numel) buf[m] = new float[numel];
        float[] b = buf[n];
        base.readInto(name, b);
        TensorStats t = new TensorStats();
        t.name = name;
        t.numel = numel;
        t.models = new ModelStats[n];
        float[][] d = new float[n][];
        for (int m = 0; m < n; m++) {
            d[m] = buf[m];
            tuned.get(m).readInto(name, d[m]);
            t.models[m] = modelStats(b, d[m], numel, name, m, o, vector, buffers);
        }
        t.dots = new double[n][n];
        for (int i = 0; i < n; i++) {
            t.dots[i][i] = t.models[i].sumSq;
            for (int j = i + 1; j < n; j++) {
                double s = dot(d[i], d[j], numel);
                t.dots[i][j] = s;
                t.dots[j][i] = s;
            }
        }
        if (n == 1) {
            // One task vector cannot disagree with itself: no conflicts, and the elected sign is each kept entry's own.
            t.trimmedAbs = t.models[0].tiesAbs;
        } else {
            signs(t, d, numel, o);
        }
        return t;
    }

    /** Turns {@code d} (the tuned tensor) into δ = d − base in place and measures it. */
    private static ModelStats modelStats(float[] base, float[] d, int numel, String name, int model,
                                         TaskVectors.Options o, boolean vector, Buffers buffers) {
        ModelStats s = new ModelStats();
        s.numel = numel;
        double[] baseAndDelta = new double[2];
        s.nonFinite = vector ? TaskVectorLanes.delta(base, d, numel, baseAndDelta)
                : delta(base, d, 0, numel, baseAndDelta);
        s.sumSqBase = baseAndDelta[0];
        s.sum = baseAndDelta[1];
        double mean = numel == 0 ? 0 : s.sum / numel;
        int[] q = atOrBelowBits(o.thresholds());
        long[] below = new long[q.length];
        // sums: Σδ², Σ|δ|, Σ(δ − mean)², Σ(δ − mean)⁴; counts: zeros, then at or below each of the first four
        // thresholds.
        double[] sums = new double[4];
        long[] counts = new long[5];
        if (vector) TaskVectorLanes.moments(d, numel, mean, q, sums, counts);
        else moments(d, 0, numel, mean, q, sums, counts);
        // One count per cell of 2^15 bit patterns gives, after the loop, the log10 histogram (a cell lies in one bin,
        // except the few that straddle a bound, whose elements above it are counted apart) and where each top-k
        // boundary lies (see top). One increment, where a histogram of each took two and a lookup: cells are narrow
        // enough that neighbouring elements rarely share one, so the increments do not wait on each other.
        int[] cells = buffers.cells, upper = buffers.upper;
        for (int i = 0; i < numel; i++) {
            float a = Math.abs(d[i]);
            int cell = TopK.magnitudeBits(a) >>> CELL_SHIFT;
            cells[cell]++;
            if (STRADDLES[cell] && bin(a) != CELL_BIN[cell]) upper[cell]++;
        }
        System.arraycopy(counts, 1, below, 0, Math.min(4, q.length));
        for (int k = 4; k < q.length; k++) {
            long n = 0;
            for (int i = 0; i < numel; i++) n += (TopK.magnitudeBits(d[i]) - q[k]) >>> 31;
            below[k] = n;
        }
        for (int cell = 0; cell < CELLS; cell++) {
            int count = cells[cell];
            if (count == 0) continue;
            int up = upper[cell];
            s.histogram[CELL_BIN[cell]] += count - up;
            if (up > 0) s.histogram[CELL_BIN[cell] + 1] += up;
            upper[cell] = 0;
        }
        s.sumSq = sums[0];
        s.sumAbs = sums[1];
        s.m2 = sums[2];
        s.m4 = sums[3];
        s.zeros = counts[0];
        s.below = below;

        int kTies = TopK.count(o.tiesDensity(), numel);
        int[] ks = {TopK.count(0.01, numel), TopK.count(0.10, numel), kTies};
        TopK.Threshold[] th = new TopK.Threshold[ks.length];
        double[] top = top(d, numel, ks, cells, th, buffers, numel / 2 + 1024, vector);
        java.util.Arrays.fill(cells, 0);
        s.top1Abs = top[0];
        s.top1Sq = top[1];
        s.top10Abs = top[2];
        s.top10Sq = top[3];
        s.tiesKept = kTies;
        s.tiesAbs = top[4];
        s.tiesSq = top[5];
        s.ties = th[2];

        long cutoff = dareCutoff(o.dareDensity());
        boolean all = o.dareDensity() >= 1;
        long key = mix(o.dareSeed() ^ mix(name.hashCode() * 0x9E3779B97F4A7C15L + model));
        double[] dareSums = new double[2];
        if (vector && TaskVectorLanes.DARE) {
            s.dareKept = TaskVectorLanes.dare(d, numel, key, cutoff, all, dareSums);
            s.dareAbs = dareSums[0];
            s.dareSq = dareSums[1];
            return s;
        }
        // dare(d, 0, numel, ...) written out: as a call, the whole table measured 10 % slower where the scalar draws
        // run (6.9-7.6 s against 6.3-6.7 s with -XX:UseAVX=2, three alternating JVMs each).
        long kept = 0;
        double dareAbs = 0, dareSq = 0;
        for (int i = 0; i < numel; i++) {
            int in = all ? 1 : below(mix(key + i), cutoff);
            double v = d[i], a = Math.abs(v);
            kept += in;
            dareAbs += in * a;
            dareSq += in * (v * v);
        }
        s.dareKept = kept;
        s.dareAbs = dareAbs;
        s.dareSq = dareSq;
        return s;
    }

    /**
     * DARE's draws over {@code d[from..to)}: element i is kept when draw {@code mix(key + i)} falls below
     * {@code cutoff} (every element when {@code all}). Adds Σ|δ| and Σδ² over the kept elements to {@code sums[0]} and
     * {@code sums[1]} and returns how many were kept. One draw per element from a counter, so the result does not
     * depend on which thread or loop computes which range.
     */
    static long dare(float[] d, int from, int to, long key, long cutoff, boolean all, double[] sums) {
        long kept = 0;
        double dareAbs = 0, dareSq = 0;
        for (int i = from; i < to; i++) {
            int in = all ? 1 : below(mix(key + i), cutoff);
            double v = d[i], a = Math.abs(v);
            kept += in;
            dareAbs += in * a;
            dareSq += in * (v * v);
        }
        sums[0] += dareAbs;
        sums[1] += dareSq;
        return kept;
    }

    /**
     * Turns {@code d[from..to)} (a fine-tune's tensor) into δ = d − base in place, adds Σ base² over the finite base
     * elements and Σδ to {@code sums[0]} and {@code sums[1]}, and returns how many δ are not finite: those are set to
     * 0, reported in the nonfinite column and treated as no change, never spread into the figures.
     */
    static long delta(float[] base, float[] d, int from, int to, double[] sums) {
        double sumSqBase = 0, sum = 0;
        long nonFinite = 0;
        for (int i = from; i < to; i++) {
            float bi = base[i];
            if (Float.isFinite(bi)) sumSqBase += (double) bi * bi;
            float v = d[i] - bi;
            if (!Float.isFinite(v)) {
                nonFinite++;
                v = 0;
            }
            d[i] = v;
            sum += v;
        }
        sums[0] += sumSqBase;
        sums[1] += sum;
        return nonFinite;
    }

    /**
     * {@link TaskVectorLanes#moments}'s sums and counts over {@code d[from..to)}, one element at a time. The first
     * four thresholds are counted in locals: counts kept in an array make every element wait for the previous
     * element's store (this loop ran eight times slower that way).
     */
    static void moments(float[] d, int from, int to, double mean, int[] q, double[] sums, long[] counts) {
        double sumSq = 0, sumAbs = 0, m2 = 0, m4 = 0;
        long zeros = 0, below0 = 0, below1 = 0, below2 = 0, below3 = 0;
        int q0 = q.length > 0 ? q[0] : 0, q1 = q.length > 1 ? q[1] : 0;
        int q2 = q.length > 2 ? q[2] : 0, q3 = q.length > 3 ? q[3] : 0;
        for (int i = from; i < to; i++) {
            double v = d[i], c = v - mean, c2 = c * c;
            sumSq += v * v;
            sumAbs += Math.abs(v);
            m2 += c2;
            m4 += c2 * c2;
            int m = TopK.magnitudeBits(d[i]);
            zeros += (m - 1) >>> 31;
            below0 += (m - q0) >>> 31;
            below1 += (m - q1) >>> 31;
            below2 += (m - q2) >>> 31;
            below3 += (m - q3) >>> 31;
        }
        sums[0] += sumSq;
        sums[1] += sumAbs;
        sums[2] += m2;
        sums[3] += m4;
        counts[0] += zeros;
        counts[1] += below0;
        counts[2] += below1;
        counts[3] += below2;
        counts[4] += below3;
    }

    /**
     * For each threshold t, one more than the bit pattern of the largest float at or below t (0 for t below zero):
     * a finite magnitude's pattern {@code m} then has {@code |δ| <= t} exactly when {@code m - q < 0}, so the count is
     * {@code Σ (m - q) >>> 31}, without a branch (whether an entry is below a threshold is a coin toss).
     */
    static int[] atOrBelowBits(double[] thresholds) {
        int[] q = new int[thresholds.length];
        for (int k = 0; k < q.length; k++) {
            double t = thresholds[k];
            if (!(t >= 0)) continue;
            float f = (float) Math.min(t, Float.MAX_VALUE);
            if (f > t) f = Math.nextDown(f);
            q[k] = Float.floatToRawIntBits(f) + 1;
        }
        return q;
    }

    /**
     * 1 where {@code draw < cutoff} as unsigned numbers, else 0, for an even {@code cutoff}: comparing the top 63 bits
     * of both as non-negative longs then decides it exactly, without a branch (the draws are random by design, and
     * {@code Long.compareUnsigned} compiled to a branch here).
     */
    static int below(long draw, long cutoff) {
        return (int) (((draw >>> 1) - (cutoff >>> 1)) >>> 63);
    }

    /** DARE keeps an element when a uniform 64-bit draw, read as unsigned, falls below density × 2⁶⁴ (an even number). */
    static long dareCutoff(double density) {
        if (density <= 0) return 0;
        if (density >= 1) return -1L;
        return (long) (density * 0x1p63) << 1;
    }

    /** How many top-k sets {@link #top} takes at most (the top 1 %, the top 10 % and TIES's). */
    static final int TOP_SETS = 3;

    /**
     * The top-k thresholds of {@code d} for each k, into {@code th}, and Σ|δ|, Σδ² over each top k (as
     * {@link #topSums}), with one pass over {@code d}: {@code cells} holds how many magnitudes fall in each cell (see
     * {@link #CELL_SHIFT}), so each k's boundary cell is known; elements in cells above it are summed, those in it
     * collected, and the selection finishes among those. Where the boundary cells hold more than {@code maxInBins}
     * elements (a tensor of a few distinct values), it falls back to selecting over all of {@code d}, which needs no
     * room.
     */
    static double[] top(float[] d, int n, int[] ks, int[] cells, TopK.Threshold[] th, Buffers buffers,
                        long maxInBins, boolean vector) {
        int m = ks.length;
        if (m > TOP_SETS) throw new IllegalArgumentException(m + " top-k sets, at most " + TOP_SETS);
        TopK.Coarse[] c = new TopK.Coarse[m];
        // The distinct boundary cells (unused slots hold a cell no element reaches), and each k's slot among them.
        int[] bounds = {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE};
        int[] slot = new int[m];
        int distinct = 0;
        long inBins = 0;
        for (int j = 0; j < m; j++) {
            if (ks[j] == 0) continue;
            long above = 0;
            int cell = CELLS - 1;
            while (above + cells[cell] < ks[j]) above += cells[cell--];
            // The refinement starts from the cell's coarse bin, with the elements of the cell alone and the count of
            // all the elements above the cell: a cell lies inside one coarse bin.
            c[j] = new TopK.Coarse(ks[j], cell >>> (TopK.COARSE_SHIFT - CELL_SHIFT), (int) above);
            int at = 0;
            while (at < distinct && bounds[at] != cell) at++;
            if (at == distinct) {
                bounds[distinct++] = cell;
                inBins += cells[cell];
            }
            slot[j] = at;
        }
        if (inBins > maxInBins) {
            TopK.Threshold[] all = TopK.select(d, n, ks);
            System.arraycopy(all, 0, th, 0, m);
            return topSums(d, n, th);
        }
        int cell0 = bounds[0], cell1 = bounds[1], cell2 = bounds[2];
        float[] in0 = buffers.inBin(0, distinct > 0 ? cells[cell0] : 0);
        float[] in1 = buffers.inBin(1, distinct > 1 ? cells[cell1] : 0);
        float[] in2 = buffers.inBin(2, distinct > 2 ? cells[cell2] : 0);
        int n0 = 0, n1 = 0, n2 = 0;
        // Σ|δ| and Σδ² above each boundary cell, pairs of them in above[0..6).
        double[] above = new double[2 * TOP_SETS];
        if (vector) {
            TaskVectorLanes.aboveSums(d, n, bounds, above);
            for (int i = 0; i < n; i++) {
                float f = Math.abs(d[i]);
                int cell = TopK.magnitudeBits(f) >>> CELL_SHIFT;
                // Branches: few elements are in a boundary cell, so the predictor is rarely wrong.
                if (cell == cell0) in0[n0++] = f;
                else if (cell == cell1) in1[n1++] = f;
                else if (cell == cell2) in2[n2++] = f;
            }
        } else {
            double abs0 = 0, abs1 = 0, abs2 = 0, sq0 = 0, sq1 = 0, sq2 = 0;
            for (int i = 0; i < n; i++) {
                float f = Math.abs(d[i]);
                int cell = TopK.magnitudeBits(f) >>> CELL_SHIFT;
                double a = f, a2 = a * a;
                // 0 or 1 rather than a branch: whether an entry is above a bound is a coin toss to the predictor.
                int above0 = (cell0 - cell) >>> 31, above1 = (cell1 - cell) >>> 31, above2 = (cell2 - cell) >>> 31;
                abs0 += above0 * a;
                sq0 += above0 * a2;
                abs1 += above1 * a;
                sq1 += above1 * a2;
                abs2 += above2 * a;
                sq2 += above2 * a2;
                if (cell == cell0) in0[n0++] = f;
                else if (cell == cell1) in1[n1++] = f;
                else if (cell == cell2) in2[n2++] = f;
            }
            above = new double[] {abs0, sq0, abs1, sq1, abs2, sq2};
        }
        float[][] in = {in0, in1, in2};
        int[] count = {n0, n1, n2};
        double[] out = new double[2 * m];
        for (int j = 0; j < m; j++) {
            if (c[j] == null) {
                th[j] = TopK.Threshold.NONE;
                continue;
            }
            int s = slot[j];
            th[j] = c[j].refine(in[s], count[s]);
            // The boundary cell's share: its elements above the threshold, and the ties the top k takes.
            double[] inBin = topSums(in[s], count[s], new TopK.Threshold[] {th[j]});
            out[2 * j] = above[2 * s] + inBin[0];
            out[2 * j + 1] = above[2 * s + 1] + inBin[1];
        }
        return out;
    }

    /** Σ|δ| and Σδ² over the top k of {@code d} for each threshold, in one pass; ties at a threshold taken as many as needed. */
    static double[] topSums(float[] d, int n, TopK.Threshold[] th) {
        int m = th.length;
        double[] out = new double[2 * m];
        int[] bits = new int[m];
        int lowest = Integer.MAX_VALUE;
        for (int j = 0; j < m; j++) {
            bits[j] = th[j].bits();
            lowest = Math.min(lowest, bits[j]);
        }
        for (int i = 0; i < n; i++) {
            int b = TopK.magnitudeBits(d[i]);
            if (b <= lowest) continue;
            double a = Math.abs(d[i]);
            for (int j = 0; j < m; j++) {
                // 0 or 1 rather than a branch: whether an entry is above a threshold is a coin toss to the predictor.
                double in = b > bits[j] ? 1 : 0;
                out[2 * j] += in * a;
                out[2 * j + 1] += in * (a * a);
            }
        }
        for (int j = 0; j < m; j++) {
            double v = th[j].k() == 0 ? 0 : th[j].value();
            out[2 * j] += th[j].ties() * v;
            out[2 * j + 1] += th[j].ties() * v * v;
        }
        return out;
    }

    /**
     * TIES's view of the models' signs: where the task vectors disagree at all, where they still disagree after
     * each is trimmed to its top {@code density}, and how much of the trimmed mass the elected sign (the sign of the
     * trimmed sum, as TIES's "sum" consensus) throws away.
     */
    private static void signs(TensorStats t, float[][] d, int numel, TaskVectors.Options o) {
        int n = d.length;
        TopK.Threshold[] th = new TopK.Threshold[n];
        int[] tiesLeft = new int[n];
        for (int m = 0; m < n; m++) {
            th[m] = t.models[m].ties;
            tiesLeft[m] = th[m].ties();
        }
        long conflicts = 0, conflictsTrimmed = 0;
        double trimmedAbs = 0, droppedAbs = 0;
        float[] kept = new float[n];
        for (int i = 0; i < numel; i++) {
            boolean pos = false, neg = false, tpos = false, tneg = false;
            double sum = 0;
            for (int m = 0; m < n; m++) {
                float v = d[m][i];
                if (v > 0) pos = true;
                else if (v < 0) neg = true;
                int bits = TopK.magnitudeBits(v);
                boolean keep = bits > th[m].bits();
                if (bits == th[m].bits() && tiesLeft[m] > 0) {
                    // Ties at the threshold: the first ones in index order make up the count, as many as the top k needs.
                    keep = true;
                    tiesLeft[m]--;
                }
                kept[m] = keep ? v : 0;
                if (keep) {
                    sum += v;
                    if (v > 0) tpos = true;
                    else if (v < 0) tneg = true;
                }
            }
            if (pos && neg) conflicts++;
            if (tpos && tneg) conflictsTrimmed++;
            boolean elected = sum >= 0;
            for (int m = 0; m < n; m++) {
                float v = kept[m];
                if (v == 0) continue;
                trimmedAbs += Math.abs(v);
                if ((v > 0) != elected) droppedAbs += Math.abs(v);
            }
        }
        t.conflicts = conflicts;
        t.conflictsTrimmed = conflictsTrimmed;
        t.trimmedAbs = trimmedAbs;
        t.droppedAbs = droppedAbs;
    }

    private static double dot(float[] x, float[] y, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += (double) x[i] * y[i];
            s1 += (double) x[i + 1] * y[i + 1];
            s2 += (double) x[i + 2] * y[i + 2];
            s3 += (double) x[i + 3] * y[i + 3];
        }
        for (; i < n; i++) s0 += (double) x[i] * y[i];
        return (s0 + s1) + (s2 + s3);
    }

    /** LOWER[b]: the smallest magnitude in bin b ≥ 1, 10^(−8 + (b − 1)/10); bin 0 is everything below 1e-8. */
    static final double[] LOWER = new double[HIST_BINS];
    /** Cells of 2^15 consecutive bit patterns of a magnitude: 1/256 of a factor of two each. */
    static final int CELL_SHIFT = 15;
    static final int CELLS = 1 << (31 - CELL_SHIFT);
    /** The bin of the smallest float in each cell: a start for {@link #bin}. */
    private static final byte[] CELL_BIN = new byte[CELLS];
    /** Whether a cell holds floats of two bins (a bin's lower bound falls inside it; at most one does). */
    private static final boolean[] STRADDLES = new boolean[CELLS];

    static {
        for (int b = 1; b < HIST_BINS; b++) LOWER[b] = Math.pow(10, HIST_MIN_LOG10 + (double) (b - 1) / HIST_PER_DECADE);
        for (int cell = 0; cell < CELLS; cell++) {
            double lowest = Float.intBitsToFloat(Math.min(cell << CELL_SHIFT, 0x7f800000));
            int b = 0;
            while (b + 1 < HIST_BINS && lowest >= LOWER[b + 1]) b++;
            CELL_BIN[cell] = (byte) b;
        }
        for (int cell = 0; cell < CELLS; cell++) {
            float highest = Float.intBitsToFloat(Math.min((cell << CELL_SHIFT) | ((1 << CELL_SHIFT) - 1), 0x7f800000));
            STRADDLES[cell] = bin(highest) != CELL_BIN[cell];
        }
    }

    /**
     * The histogram bin of a magnitude (a float's absolute value): 0 holds everything below 1e-8 (zeros included),
     * the last everything from 10 up. A table lookup on the float's top bits, then at most a step or two.
     */
    static int bin(float a) {
        int b = CELL_BIN[TopK.magnitudeBits(a) >>> CELL_SHIFT];
        while (b + 1 < HIST_BINS && a >= LOWER[b + 1]) b++;
        return b;
    }

    /** SplitMix64's finaliser: independent-looking draws from consecutive counters, whatever thread runs them. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
