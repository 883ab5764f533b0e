package org.mergelab.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.mergelab.io.Checkpoint;

/**
 * Streams a reference checkpoint against one or more others and sums {@link TensorPairStats} for every requested
 * (tensor, model) pair. Work is cut into chunks of {@value #CHUNK} elements across tensors, so a 65M-element
 * embedding keeps every core busy as well as two hundred small tensors do; each chunk is read once from the reference
 * and once from each model through a block-sized buffer. Partial sums are added in chunk order, so the figures do
 * not depend on the number of threads or on which thread ran which chunk.
 */
final class PairScan {
    /** Elements per work item: large enough to amortise scheduling, small enough to balance the load. */
    static final int CHUNK = 1 << 20;

    private PairScan() {}

    /**
     * @param names  the reference's tensors to compare
     * @param models for each tensor, the indices (into {@code others}) of the models to compare it with; each of them
     *               holds a tensor of that name with the reference's shape
     * @return {@code [tensor][model]} sums, null where a model was not asked for
     */
    static TensorPairStats[][] run(Checkpoint reference, List<Checkpoint> others, List<String> names,
                                   List<int[]> models) {
        long pairs = 0;
        for (int t = 0; t < names.size(); t++) pairs += reference.info(names.get(t)).numel() * models.get(t).length;
        return run(reference, others, names, models, PairKernel.vectorFor(pairs));
    }

    /** As {@link #run(Checkpoint, List, List, List)}, choosing the loop: {@code vector} needs {@link PairKernel#VECTOR}. */
    static TensorPairStats[][] run(Checkpoint reference, List<Checkpoint> others, List<String> names,
                                   List<int[]> models, boolean vector) {
        int tensors = names.size();
        Tensor[] work = new Tensor[tensors];
        List<int[]> items = new ArrayList<>();
        for (int t = 0; t < tensors; t++) {
            long numel = reference.info(names.get(t)).numel();
            int chunks = (int) Math.max(1, (numel + CHUNK - 1) / CHUNK);
            work[t] = new Tensor(names.get(t), numel, models.get(t), chunks);
            for (int c = 0; c < chunks; c++) items.add(new int[] {t, c});
        }
        int threads = Math.max(1, Math.min(items.size(), Runtime.getRuntime().availableProcessors()));
        Workers.run(threads, items.size(), "mergelab-analysis", PairKernel.Buffers::new, (buffers, i) ->
                work[items.get(i)[0]].runChunk(items.get(i)[1], reference, others, vector, buffers));
        TensorPairStats[][] out = new TensorPairStats[tensors][others.size()];
        for (int t = 0; t < tensors; t++) {
            Tensor w = work[t];
            for (int j = 0; j < w.models.length; j++) {
                PairKernel.Sums total = new PairKernel.Sums();
                for (int c = 0; c < w.chunks; c++) total.add(w.partial[c][j]);
                out[t][w.models[j]] = total.toStats(w.numel);
            }
        }
        return out;
    }

    /** One tensor's work: its chunks' partial sums, and its mapped sources while chunks remain. */
    private static final class Tensor {
        final String name;
        final long numel;
        final int[] models;
        final int chunks;
        final PairKernel.Sums[][] partial;
        private final AtomicInteger remaining;
        private TensorSource[] sources;

        Tensor(String name, long numel, int[] models, int chunks) {
            this.name = name;
            this.numel = numel;
            this.models = models;
            this.chunks = chunks;
            this.partial = new PairKernel.Sums[chunks][models.length];
            this.remaining = new AtomicInteger(chunks);
        }

        private synchronized TensorSource[] sources(Checkpoint reference, List<Checkpoint> others) {
            if (sources == null) {
                TensorSource[] s = new TensorSource[models.length + 1];
                s[0] = TensorSource.open(reference, name);
                for (int j = 0; j < models.length; j++) s[j + 1] = TensorSource.open(others.get(models[j]), name);
                sources = s;
            }
            return sources;
        }

        private synchronized void release() {
            // Dropping the mappings lets the collector unmap them: a model's worth of mappings never piles up.
            sources = null;
        }

        void runChunk(int c, Checkpoint reference, List<Checkpoint> others, boolean vector,
                      PairKernel.Buffers buffers) {
            TensorSource[] src = sources(reference, others);
            long start = (long) c * CHUNK;
            long end = Math.min(numel, start + CHUNK);
            PairKernel.Sums[] sums = new PairKernel.Sums[models.length];
            for (int j = 0; j < models.length; j++) sums[j] = new PairKernel.Sums();
            for (int j = 0; j < models.length; j++) {
                PairKernel.range(src[0], src[j + 1], start, (int) (end - start), vector, buffers, sums[j]);
            }
            partial[c] = sums;
            if (remaining.decrementAndGet() == 0) release();
        }
    }
}
