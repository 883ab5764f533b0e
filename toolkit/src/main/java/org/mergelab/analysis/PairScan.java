package org.mergelab.analysis;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.mergelab.io.Checkpoint;

/**
 * Streams a reference checkpoint against one or more others and sums {@link TensorPairStats} for every requested
 * (tensor, model) pair. Work is cut into chunks of {@value #CHUNK} elements across tensors, so a 65M-element
 * embedding keeps every core busy as well as two hundred small tensors do; each chunk is read once from the reference
 * and once from each model, with positional reads into buffers each thread reuses. Partial sums are added in chunk
 * order, so the figures do not depend on the number of threads or on which thread ran which chunk.
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
            work[t] = new Tensor(names.get(t), numel, models.get(t), chunks, reference, others);
            for (int c = 0; c < chunks; c++) items.add(new int[] {t, c});
        }
        int threads = Math.max(1, Math.min(items.size(), Runtime.getRuntime().availableProcessors()));
        Workers.run(threads, items.size(), "mergelab-analysis", PairKernel.Buffers::new, (buffers, i) ->
                work[items.get(i)[0]].runChunk(items.get(i)[1], vector, buffers));
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

    /** One tensor's work: its sources and its chunks' partial sums. */
    private static final class Tensor {
        final long numel;
        final int[] models;
        final int chunks;
        final PairKernel.Sums[][] partial;
        /** The reference's tensor, then each compared model's. */
        private final TensorSource[] sources;

        Tensor(String name, long numel, int[] models, int chunks, Checkpoint reference, List<Checkpoint> others) {
            this.numel = numel;
            this.models = models;
            this.chunks = chunks;
            this.partial = new PairKernel.Sums[chunks][models.length];
            this.sources = new TensorSource[models.length + 1];
            sources[0] = TensorSource.open(reference, name);
            for (int j = 0; j < models.length; j++) sources[j + 1] = TensorSource.open(others.get(models[j]), name);
        }

        /** Reads the chunk of the reference once, and compares it with the same chunk of each model in turn. */
        void runChunk(int c, boolean vector, PairKernel.Buffers buffers) {
            long start = (long) c * CHUNK;
            int n = (int) (Math.min(numel, start + CHUNK) - start);
            TensorSource ref = sources[0];
            ByteBuffer x = ref.read(start, n, buffers.scratch.bytes(0));
            PairKernel.Sums[] sums = new PairKernel.Sums[models.length];
            for (int j = 0; j < models.length; j++) {
                TensorSource other = sources[j + 1];
                ByteBuffer y = other.read(start, n, buffers.scratch.bytes(1));
                sums[j] = new PairKernel.Sums();
                PairKernel.range(ref.dtype(), x, other.dtype(), y, n, vector, buffers, sums[j]);
            }
            partial[c] = sums;
        }
    }
}
