package org.mergelab.analysis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.mergelab.arch.ModuleKind;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.TensorInfo;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * How far one checkpoint is from another, tensor by tensor: a Tablesaw table with one row per tensor the two share
 * ({@code name, layer, module, shape, numel, cosine, l2, rel_change, norm_a, norm_b}, where
 * {@code l2 = ‖b − a‖} and {@code rel_change = ‖b − a‖ / ‖a‖}). The checkpoints are streamed one tensor at a time
 * on every core; sums are accumulated in double.
 *
 * <pre>{@code
 * var d = Divergence.between(base, tuned);
 * d.byLayer().plot();
 * }</pre>
 */
public final class Divergence extends Table {
    private final String nameA;
    private final String nameB;
    private final List<TensorPairStats> stats;
    private final Table unmatched;

    private Divergence(String nameA, String nameB, List<Row> rows, Table unmatched) {
        super("divergence of " + nameB + " from " + nameA);
        this.nameA = nameA;
        this.nameB = nameB;
        this.unmatched = unmatched;
        this.stats = rows.stream().map(Row::stats).toList();
        StringColumn name = StringColumn.create("name");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        StringColumn shape = StringColumn.create("shape");
        LongColumn numel = LongColumn.create("numel");
        DoubleColumn cosine = DoubleColumn.create("cosine");
        DoubleColumn l2 = DoubleColumn.create("l2");
        DoubleColumn rel = DoubleColumn.create("rel_change");
        DoubleColumn normA = DoubleColumn.create("norm_a");
        DoubleColumn normB = DoubleColumn.create("norm_b");
        for (Row r : rows) {
            name.append(r.name());
            if (r.layer().isPresent()) layer.append(r.layer().getAsInt()); else layer.appendMissing();
            module.append(r.module().label());
            shape.append(TensorInfo.shapeString(r.shape()));
            numel.append(r.stats().numel());
            cosine.append(r.stats().cosine());
            l2.append(r.stats().l2());
            rel.append(r.stats().relChange());
            normA.append(r.stats().normA());
            normB.append(r.stats().normB());
        }
        addColumns(name, layer, module, shape, numel, cosine, l2, rel, normA, normB);
    }

    private record Row(String name, OptionalInt layer, ModuleKind module, long[] shape, TensorPairStats stats) {}

    /** Opens two checkpoint folders and compares them. */
    public static Divergence between(Path a, Path b) {
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            return between(ca, cb);
        }
    }

    public static Divergence between(String a, String b) {
        return between(Path.of(a), Path.of(b));
    }

    /** Compares every tensor the two checkpoints share; tensors in only one, or with different shapes, are listed in {@link #unmatched()}. */
    public static Divergence between(Checkpoint a, Checkpoint b) {
        List<String> common = new ArrayList<>();
        StringColumn uName = StringColumn.create("name");
        StringColumn uReason = StringColumn.create("reason");
        for (String n : a.tensorNames()) {
            if (!b.has(n)) {
                uName.append(n);
                uReason.append("only in " + a.name());
            } else if (!Arrays.equals(a.info(n).shape(), b.info(n).shape())) {
                uName.append(n);
                uReason.append("shape " + a.info(n).shapeString() + " in " + a.name() + " but " + b.info(n).shapeString()
                        + " in " + b.name());
            } else if (!a.info(n).dtype().isFloating() || !b.info(n).dtype().isFloating()) {
                uName.append(n);
                uReason.append("not floating point");
            } else {
                common.add(n);
            }
        }
        for (String n : b.tensorNames()) {
            if (!a.has(n)) {
                uName.append(n);
                uReason.append("only in " + b.name());
            }
        }
        common.sort(TensorOrder.NATURAL);
        List<Row> rows = computeRows(a, b, common);
        Table unmatched = Table.create("tensors not compared", uName, uReason);
        return new Divergence(a.name(), b.name(), rows, unmatched);
    }

    private static List<Row> computeRows(Checkpoint a, Checkpoint b, List<String> names) {
        int threads = Math.max(1, Math.min(names.size(), Runtime.getRuntime().availableProcessors()));
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "mergelab-divergence");
            t.setDaemon(true);
            return t;
        });
        ThreadLocal<float[][]> buffers = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});
        try {
            List<Future<Row>> futures = new ArrayList<>();
            for (String n : names) {
                futures.add(pool.submit(() -> {
                    TensorInfo info = a.info(n);
                    int numel = Math.toIntExact(info.numel());
                    float[][] buf = buffers.get();
                    if (buf[0].length < numel) {
                        buf[0] = new float[numel];
                        buf[1] = new float[numel];
                    }
                    a.readInto(n, buf[0]);
                    b.readInto(n, buf[1]);
                    return new Row(n, ModuleKind.layerOf(n), ModuleKind.of(n), info.shape(),
                            TensorPairStats.of(buf[0], buf[1], numel));
                }));
            }
            List<Row> rows = new ArrayList<>();
            for (Future<Row> f : futures) rows.add(f.get());
            return rows;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("divergence interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** The reference model's name (a). */
    public String modelA() { return nameA; }

    /** The compared model's name (b). */
    public String modelB() { return nameB; }

    /** Tensors present in only one model, with mismatched shapes, or not floating point: name and reason. */
    public Table unmatched() { return unmatched; }

    /** The raw sums behind row {@code i}, for roll-ups. */
    TensorPairStats stats(int i) { return stats.get(i); }

    /** The same figures per layer and module (plus an "all" row per layer), and a chart of them. */
    public LayerDivergence byLayer() {
        return LayerDivergence.of(this);
    }

    /** The whole model as one vector: cosine, l2 and relative change over every compared tensor. */
    public TensorPairStats total() {
        return stats.stream().reduce(TensorPairStats.ZERO, TensorPairStats::plus);
    }
}
