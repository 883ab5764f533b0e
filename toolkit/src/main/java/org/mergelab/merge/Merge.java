package org.mergelab.merge;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.mergelab.Version;
import org.mergelab.hub.ModelLocator;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.Codecs;
import org.mergelab.io.DType;
import org.mergelab.io.Half;
import org.mergelab.io.Json;
import org.mergelab.io.OutputFolder;
import org.mergelab.io.CheckpointWriter;
import org.mergelab.io.Tensor;
import org.mergelab.io.TensorSpec;
import org.mergelab.merge.vocab.EmbeddingAlignment;
import org.mergelab.merge.vocab.VocabularyPlan;
import org.mergelab.recipe.Recipe;

/**
 * Runs merges: plan first (every check that needs no tensor data), then stream. Each task reads its input tensors
 * once, rounds them to the working dtype, merges in float32, rounds the result as mergekit does, and writes it;
 * tasks run on every core, so peak memory is a few tensors per thread, never the model.
 *
 * <pre>{@code
 * MergeReport r = Merge.run(Recipe.load(Path.of("recipes/stories260K/slerp.yml")), Path.of("out/slerp"));
 * Map<String, Tensor> w = Merge.inMemory(recipe).tensors();   // for sweeps: nothing touches the disk
 * }</pre>
 */
public final class Merge {
    /** Files copied from the donor model when the tokenizer is copied (mergekit's list, plus vocab.json). */
    static final List<String> TOKENIZER_FILES = VocabularyPlan.COPIED_FILES;

    private Merge() {}

    /** Plans a recipe, finding its models as {@link ModelLocator#forRecipe} does. */
    public static MergePlan plan(Recipe recipe) {
        return plan(recipe, ModelLocator.forRecipe(recipe.file() == null ? null : recipe.file().toAbsolutePath().getParent()));
    }

    /** Plans a recipe, finding its models with {@code locator}. */
    public static MergePlan plan(Recipe recipe, ModelLocator locator) {
        return plan(recipe, locator, MergeOptions.defaults());
    }

    /** Plans a recipe with the options that affect planning ({@link MergeOptions#allowCrimes()}). */
    public static MergePlan plan(Recipe recipe, MergeOptions options) {
        return plan(recipe, locatorFor(recipe), options);
    }

    public static MergePlan plan(Recipe recipe, ModelLocator locator, MergeOptions options) {
        warmUpInBackground();
        return MergePlanner.plan(recipe, ref -> Checkpoint.open(locator.locate(ref.model(), ref.revision())),
                options.allowCrimes());
    }

    private static final AtomicBoolean WARMING = new AtomicBoolean();

    /**
     * Loads, checks and warms up the vector kernels while the plan is being made. Until the JIT has compiled them
     * they run many times slower than scalar code, and the first worker to need them would otherwise do this work
     * while the others wait for it.
     */
    private static void warmUpInBackground() {
        if (!WARMING.compareAndSet(false, true)) return;
        Thread t = new Thread(() -> {
            Codecs.vectorised();
            boolean ignored = VectorSupport.ENABLED;
        }, "mergelab-warm-up");
        t.setDaemon(true);
        t.start();
    }

    private static ModelLocator locatorFor(Recipe recipe) {
        return ModelLocator.forRecipe(recipe.file() == null ? null : recipe.file().toAbsolutePath().getParent());
    }

    public static MergeReport run(Recipe recipe, Path out) throws IOException {
        return run(recipe, out, MergeOptions.defaults());
    }

    public static MergeReport run(Recipe recipe, Path out, MergeOptions options) throws IOException {
        MergePlan plan = plan(recipe, options);
        try {
            return run(plan, out, options);
        } finally {
            plan.checkpoints().values().forEach(Checkpoint::close);
        }
    }

    /** Executes a plan into {@code out}, which appears only once complete. */
    public static MergeReport run(MergePlan plan, Path out, MergeOptions options) throws IOException {
        Path target = out.toAbsolutePath().normalize();
        for (Checkpoint c : plan.checkpoints().values()) {
            if (target.startsWith(c.dir()) || c.dir().startsWith(target)) {
                throw new IOException("output folder " + out + " would overwrite input model " + c.dir());
            }
        }
        List<TensorSpec> specs = plan.tasks().stream().map(MergePlan.Task::spec).toList();
        try (OutputFolder folder = OutputFolder.create(out, options.overwrite())) {
            MergeReport report;
            try (CheckpointWriter writer = CheckpointWriter.create(folder.dir(), specs, options.outShardBytes(),
                    options.safeSerialization())) {
                report = execute(plan, options, target, new Sink() {
                    @Override
                    public void put(MergePlan.Task t, float[] data) throws IOException {
                        writer.write(t.outputName(), data);
                    }

                    @Override
                    public void putRaw(MergePlan.Task t, ByteBuffer bytes) throws IOException {
                        writer.writeRaw(t.outputName(), bytes);
                    }

                    @Override
                    public void putChunk(MergePlan.Task t, long offset, float[] data, int len) throws IOException {
                        writer.writeChunk(t.outputName(), offset, data, len);
                    }

                    @Override
                    public void finishChunks(MergePlan.Task t) {
                        writer.markWritten(t.outputName());
                    }
                });
                writer.finish(Map.of("mergelab_version", Version.get()));
            }
            Json.write(folder.resolve("config.json"), plan.outConfig());
            plan.vocabulary().writeTokenizer(folder.dir(), plan.donorCheckpoint().dir(), options.copyTokenizer());
            if (options.writeModelCard()) {
                Files.writeString(folder.resolve("README.md"), ModelCard.write(plan, target.getFileName().toString()));
                Files.writeString(folder.resolve("mergekit_config.yml"), plan.recipe().text());
            }
            folder.commit();
            return report;
        }
    }

    /** The result of a merge that never touches the disk. */
    public record InMemory(Map<String, Tensor> tensors, MergePlan plan, MergeReport report) {
        public Tensor tensor(String name) {
            Tensor t = tensors.get(name);
            if (t == null) throw new IllegalArgumentException("the merge produced no tensor " + name);
            return t;
        }
    }

    public static InMemory inMemory(Recipe recipe) {
        return inMemory(recipe, MergeOptions.defaults());
    }

    public static InMemory inMemory(Recipe recipe, MergeOptions options) {
        MergePlan plan = plan(recipe, options);
        try {
            return inMemory(plan, options);
        } finally {
            plan.checkpoints().values().forEach(Checkpoint::close);
        }
    }

    /** Merges into float32 tensors held in memory (already rounded to each output dtype). */
    public static InMemory inMemory(MergePlan plan, MergeOptions options) {
        Map<String, Tensor> out = Collections.synchronizedMap(new LinkedHashMap<>());
        try {
            MergeReport report = execute(plan, options, null, new Sink() {
                @Override
                public void put(MergePlan.Task t, float[] data) {
                    float[] copy = java.util.Arrays.copyOf(data, (int) t.numel());
                    Half.roundInPlace(copy, copy.length, floatDtype(t.outDtype()));
                    out.put(t.outputName(), new Tensor(t.outputName(), t.shape(), copy));
                }

                @Override
                public void putRaw(MergePlan.Task t, ByteBuffer bytes) {
                    // Integer buffers have no float32 form; in-memory merges leave them out.
                }

                private final Map<String, float[]> partial = new java.util.concurrent.ConcurrentHashMap<>();

                @Override
                public void putChunk(MergePlan.Task t, long offset, float[] data, int len) {
                    float[] whole = partial.computeIfAbsent(t.outputName(), k -> new float[(int) t.numel()]);
                    System.arraycopy(data, 0, whole, (int) offset, len);
                }

                @Override
                public void finishChunks(MergePlan.Task t) {
                    put(t, partial.remove(t.outputName()));
                }
            });
            Map<String, Tensor> ordered = new LinkedHashMap<>();
            for (MergePlan.Task t : plan.tasks()) {
                if (out.containsKey(t.outputName())) ordered.put(t.outputName(), out.get(t.outputName()));
            }
            return new InMemory(Collections.unmodifiableMap(ordered), plan, report);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static DType floatDtype(DType d) {
        return d == DType.F64 ? DType.F32 : d;
    }

    interface Sink {
        void put(MergePlan.Task t, float[] data) throws IOException;

        void putRaw(MergePlan.Task t, ByteBuffer bytes) throws IOException;

        /** Part of a streamed tensor: elements {@code [offset, offset + len)}, chunks in any order. */
        void putChunk(MergePlan.Task t, long offset, float[] data, int len) throws IOException;

        /** Every chunk of a streamed tensor has been put. */
        void finishChunks(MergePlan.Task t) throws IOException;
    }

    /**
     * Tensors with more elements than this are merged in chunks by methods that can ({@link StreamingMerge}), in
     * blocks small enough to stay in the processor's cache from decoding to use: faster than passing whole tensors
     * through memory several times, and the memory a worker needs no longer depends on the model (a few 4 MB
     * buffers). Smaller tensors, and methods that need a whole tensor at once, are read once and held.
     */
    static volatile long streamAbove = Long.getLong("mergelab.streamAbove", 1L << 20);

    /**
     * {@link #streamAbove}, or a few blocks for a method that {@linkplain StreamingMerge#prefersStreaming prefers}
     * streaming; {@code Long.MAX_VALUE} turns streaming off for every method.
     */
    private static long streamThreshold(MergeMethod method) {
        return streamAbove != Long.MAX_VALUE && method instanceof StreamingMerge sm && sm.prefersStreaming()
                ? Math.min(streamAbove, 4L * TensorStream.BLOCK) : streamAbove;
    }

    private static MergeReport execute(MergePlan plan, MergeOptions options, Path output, Sink sink) throws IOException {
        long start = System.nanoTime();
        long seed = options.randomSeed() != null ? options.randomSeed() : new java.security.SecureRandom().nextLong();
        RandomStreams random = RandomStreams.seeded(seed);
        List<MergePlan.Task> tasks = plan.tasks();
        long bytesTotal = plan.bytesToRead();
        AtomicInteger done = new AtomicInteger();
        AtomicLong bytesDone = new AtomicLong();
        MergeReport.Entry[] entries = new MergeReport.Entry[tasks.size()];
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, options.threads()), r -> {
            Thread th = new Thread(r, "mergelab-merge");
            th.setDaemon(true);
            return th;
        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            // Largest first: the embedding and the LM head are the longest tasks; started last, one of them would
            // keep a single core busy while the others wait. Results go to their own offsets, so order is free.
            List<MergePlan.Task> bySize = new ArrayList<>(tasks);
            bySize.sort(java.util.Comparator.comparingLong(MergePlan.Task::numel).reversed());
            for (MergePlan.Task t : bySize) {
                futures.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    long read = runTask(plan, t, plan.vocabulary().alignmentFor(t.outputName()), sink, random,
                            options);
                    entries[t.index()] = new MergeReport.Entry(t.outputName(), t.layer(), how(plan.method(), t),
                            t.parameterSummary(), t.outDtype().safetensorsName(), (System.nanoTime() - t0) / 1e6);
                    options.progress().update(done.incrementAndGet(), tasks.size(), bytesDone.addAndGet(read), bytesTotal);
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    futures.forEach(x -> x.cancel(true));
                    Throwable c = e.getCause();
                    if (c instanceof IOException io) throw io;
                    if (c instanceof RuntimeException re) throw re;
                    if (c instanceof Error er) throw er;
                    throw new IOException(c);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("merge interrupted", e);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        return new MergeReport(output, plan.method().name(), List.of(entries), bytesTotal, plan.bytesToWrite(),
                (System.nanoTime() - start) / 1e9, plan.warnings(), seed, plan.method().random());
    }

    private static String how(MergeMethod m, MergePlan.Task t) {
        return switch (t.kind()) {
            case MERGE -> m.name();
            case PASSTHROUGH -> "passthrough";
            case COPY_BUFFER -> "copy";
        };
    }

    /** Runs one task; returns the bytes it read. */
    private static long runTask(MergePlan plan, MergePlan.Task t, EmbeddingAlignment vocabulary, Sink sink,
                                RandomStreams random, MergeOptions options) throws IOException {
        MergeMethod method = plan.method();
        long read = 0;
        if (t.kind() == MergePlan.Kind.COPY_BUFFER) {
            ByteBuffer first = null;
            for (MergePlan.Input in : t.inputs()) {
                ByteBuffer b = in.checkpoint().readRaw(in.tensorName());
                read += b.remaining();
                if (first == null) {
                    first = b;
                } else if (!first.equals(b)) {
                    throw new IOException("non-floating buffer " + t.outputName() + " differs between "
                            + t.inputs().get(0).model() + " and " + in.model() + "; it cannot be merged");
                }
            }
            sink.putRaw(t, first);
            return read;
        }
        if (vocabulary == null && t.numel() > streamThreshold(plan.method())) {
            Long streamed = stream(plan, t, sink, random, options);
            if (streamed != null) return streamed;
        }
        int n = Math.toIntExact(t.numel());
        List<float[]> data = new ArrayList<>(t.inputs().size());
        List<String> models = new ArrayList<>();
        List<Map<String, Object>> perModel = new ArrayList<>();
        int slot = 0;
        for (MergePlan.Input in : t.inputs()) {
            int inN = Math.toIntExact(in.info().numel());
            float[] x = BufferPool.get(slot++, inN);
            in.checkpoint().readInto(in.tensorName(), x);
            read += in.info().byteSize();
            if (in.info().dtype() != t.workDtype()) Half.roundInPlace(x, inN, floatDtype(t.workDtype()));
            data.add(x);
            models.add(in.model().toString());
            perModel.add(in.parameters());
        }
        // Rows re-indexed to the merged vocabulary before the method sees them, as mergekit's PermutedVocabulary.
        if (vocabulary != null) data = vocabulary.align(data, t.workDtype());
        float[] result;
        if (t.kind() == MergePlan.Kind.PASSTHROUGH) {
            result = data.get(0);
        } else {
            try {
                result = method.merge(new TensorInputs(t.outputName(), t.shape(), data, models, t.baseIndex(),
                        t.shared(), perModel, t.workDtype(), random, options.corrections(), options.transcendentals()));
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new org.mergelab.recipe.RecipeException(plan.recipe().where(), plan.recipe().mergeMethodLine(),
                        "tensor " + t.outputName() + ": " + e.getMessage());
            }
            // mergekit returns the result dtype, then casts to out_dtype. When the two agree, the sink's own
            // rounding to out_dtype is the same single rounding; otherwise both roundings must happen.
            if (t.resultDtype() != t.outDtype()) Half.roundInPlace(result, n, floatDtype(t.resultDtype()));
        }
        sink.put(t, result);
        return read;
    }

    /**
     * Reads a streamed task's inputs, rounded to its work dtype; offers a mapped bf16 input's bytes to kernels that
     * decode as they compute where that rounding would change nothing.
     */
    static TensorStream.Reader readerFor(MergePlan.Task t) {
        org.mergelab.io.TensorReader[] readers = new org.mergelab.io.TensorReader[t.inputs().size()];
        for (int i = 0; i < readers.length; i++) {
            MergePlan.Input in = t.inputs().get(i);
            readers[i] = in.checkpoint().reader(in.tensorName());
        }
        return new TensorStream.Reader() {
            @Override
            public void read(int input, long offset, float[] dst, int len) {
                MergePlan.Input in = t.inputs().get(input);
                readers[input].read(offset, dst, 0, len);
                if (in.info().dtype() != t.workDtype()) Half.roundInPlace(dst, len, floatDtype(t.workDtype()));
            }

            @Override
            public ByteBuffer bf16(int input) {
                // bf16 values are already bf16 and float32: rounding to either work dtype leaves them unchanged
                boolean exact = t.workDtype() == DType.BF16 || t.workDtype() == DType.F32;
                return exact ? readers[input].bf16Bytes() : null;
            }
        };
    }

    /**
     * Merges a large tensor chunk by chunk if its method can ({@link StreamingMerge}), or copies a lone optional
     * input through; returns the bytes read, or null when the tensor must be merged whole.
     */
    private static Long stream(MergePlan plan, MergePlan.Task t, Sink sink, RandomStreams random,
                               MergeOptions options) throws IOException {
        MergeMethod method = plan.method();
        boolean passthrough = t.kind() == MergePlan.Kind.PASSTHROUGH;
        if (!passthrough && !(method instanceof StreamingMerge)) return null;
        List<String> models = new ArrayList<>();
        List<float[]> none = new ArrayList<>();
        List<Map<String, Object>> perModel = new ArrayList<>();
        for (MergePlan.Input in : t.inputs()) {
            models.add(in.model().toString());
            none.add(new float[0]);
            perModel.add(in.parameters());
        }
        TensorInputs meta = new TensorInputs(t.outputName(), t.shape(), none, models, t.baseIndex(), t.shared(),
                perModel, t.workDtype(), random, options.corrections(), options.transcendentals());
        if (!passthrough && !((StreamingMerge) method).streams(meta)) return null;
        long[] read = {0};
        TensorStream stream = new TensorStream(meta, t.numel(), readerFor(t));
        boolean roundResult = !passthrough && t.resultDtype() != t.outDtype();
        TensorStream.Output out = (chunk, data, len) -> {
            if (roundResult) Half.roundInPlace(data, len, floatDtype(t.resultDtype()));
            sink.putChunk(t, (long) chunk * TensorStream.CHUNK, data, len);
        };
        try {
            if (passthrough) {
                float[] buf = BufferPool.get(0, TensorStream.CHUNK);
                for (int c = 0; c < stream.chunks(); c++) {
                    stream.read(0, c, buf);
                    out.write(c, buf, stream.chunkLength(c));
                }
            } else {
                ((StreamingMerge) method).stream(stream, out);
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new org.mergelab.recipe.RecipeException(plan.recipe().where(), plan.recipe().mergeMethodLine(),
                    "tensor " + t.outputName() + ": " + e.getMessage());
        }
        sink.finishChunks(t);
        for (MergePlan.Input in : t.inputs()) read[0] += in.info().byteSize();
        return read[0];
    }
}
