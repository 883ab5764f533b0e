package org.mergelab.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs a measurement with warm-up rounds and repeats, and prints one line per figure that scripts can parse:
 * {@code BENCH <name> median=<v> min=<v> max=<v> spread=<(max-min)/median> n=<repeats> unit=<unit>}.
 * Figures from a noisy machine are meant to be read as ratios against a baseline measured in the same run.
 */
public final class Harness {
    /** One figure: the median of the repeats, with the extremes. */
    public record Figure(String name, String unit, double median, double min, double max, int n) {
        public double spread() {
            return median == 0 ? 0 : (max - min) / median;
        }

        public String line() {
            return String.format(Locale.ROOT, "BENCH %s median=%.6g min=%.6g max=%.6g spread=%.3f n=%d unit=%s", name,
                    median, min, max, spread(), n, unit);
        }
    }

    /** Something measured once per call; returns the value (seconds, bytes, tokens per second...). */
    public interface Measurement {
        double run() throws Exception;
    }

    private Harness() {}

    /** A benchmark's {@code --name value} arguments, in order. */
    public static Map<String, String> options(String[] args) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
            }
            out.put(args[i].substring(2), args[++i]);
        }
        return out;
    }

    public static Figure measure(String name, String unit, int warmups, int repeats, Measurement m) throws Exception {
        for (int i = 0; i < warmups; i++) m.run();
        double[] v = new double[repeats];
        for (int i = 0; i < repeats; i++) v[i] = m.run();
        return figure(name, unit, v);
    }

    public static Figure figure(String name, String unit, double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return new Figure(name, unit, median, v[0], v[v.length - 1], v.length);
    }

    /** A ratio of two figures' medians, printed as its own line. */
    public static Figure ratio(String name, Figure numerator, Figure denominator) {
        double r = numerator.median() / denominator.median();
        return new Figure(name, "ratio", r, numerator.min() / denominator.max(), numerator.max() / denominator.min(),
                Math.min(numerator.n(), denominator.n()));
    }

    /** Seconds taken by {@code r}. */
    public static double seconds(ThrowingRunnable r) throws Exception {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * Writes dirty pages back, then asks the kernel to drop clean page-cache pages, so what runs next reads its files
     * from the disk. Needs root on Linux.
     */
    public static void dropCaches() throws Exception {
        Process sync = new ProcessBuilder("sync").inheritIO().start();
        if (sync.waitFor() != 0) throw new java.io.IOException("sync failed");
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of("/proc/sys/vm/drop_caches"), "1");
        } catch (java.io.IOException e) {
            throw new java.io.IOException("--cold needs to write /proc/sys/vm/drop_caches (root on Linux): " + e, e);
        }
    }

    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Prints and collects figures. */
    public static final class Report {
        private final List<Figure> figures = new ArrayList<>();

        public Figure add(Figure f) {
            figures.add(f);
            System.out.println(f.line());
            return f;
        }

        public List<Figure> figures() {
            return figures;
        }
    }
}
