package org.mergelab.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.mergelab.hub.TestModels;
import org.mergelab.io.DType;
import org.mergelab.recipe.ModelRef;
import org.mergelab.recipe.Recipe;

/**
 * A seed recipe on shape-exact random checkpoints: MergeLab against (a) the floor, reading the input files and
 * writing an output of the same size through the same file system, and (b) Python mergekit 0.1.5 on the same recipe
 * and files, when it is installed. Both merges run as child processes, sampled for peak private memory.
 */
final class MergeBench implements Main.Benchmark {
    @Override
    public String summary() {
        return "--recipe R --shapes NAME [--work DIR] [--repeats N] [--warmup N] [--mergekit PATH] [--dtype D]"
                + " [--delete-models true] [--cold true]: a recipe on shape-exact models vs the I/O floor and mergekit (--cold: the"
                + " page cache emptied before every timed run; needs root)";
    }

    @Override
    public void run(String[] argv) throws Exception {
        Map<String, String> a = Harness.options(argv);
        Path recipeFile = Path.of(a.get("recipe")).toAbsolutePath();
        String shapes = a.get("shapes");
        Path work = Path.of(a.getOrDefault("work", "/tmp/mergelab-bench")).toAbsolutePath();
        int repeats = Integer.parseInt(a.getOrDefault("repeats", "3"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "1"));
        DType dtype = DType.parse(a.getOrDefault("dtype", "bfloat16"));
        String mergekit = a.getOrDefault("mergekit", "/work/venv-ref/bin/mergekit-yaml");

        Recipe recipe = Recipe.load(recipeFile);
        Path models = work.resolve("models");
        List<Path> inputs = new ArrayList<>();
        int i = 0;
        for (ModelRef m : recipe.referencedModels()) {
            Path dir = models.resolve(m.model());
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                System.out.println("# writing " + shapes + "-shaped " + m.model() + " (" + dtype.torchName() + ")");
                TestModels.write(shapes, dir, dtype, 1, i == 0 ? 0 : 100 + i, 0.1);
            }
            inputs.add(dir);
            i++;
        }
        long inBytes = 0;
        for (Path p : inputs) inBytes += weightBytes(p);
        long outBytes = weightBytes(inputs.get(0));
        System.out.printf("# %s on %s shapes: %d input models, %.2f GB read, %.2f GB written%n",
                recipeFile.getFileName(), shapes, inputs.size(), inBytes / 1e9, outBytes / 1e9);

        Harness.Report report = new Harness.Report();
        Path out = work.resolve("out");
        // The floors and MergeLab take turns, round by round, so a change in the machine's state (page cache, other
        // tenants) falls on all three alike. MergeLab writes its output past the page cache where the file system
        // allows (O_DIRECT): the floor is also measured with that write, so the ratio is given against the cheapest
        // plain I/O too, not only against the usual one. MergeLab runs as bin/mergelab, as a user runs it: its
        // warm-up run saves the class-data archive the measured runs then map.
        List<String> oursCmd = List.of(launcher().toString(), "merge", recipeFile.toString(), out.toString(),
                "--force", "--quiet");
        double[] floorSeconds = new double[repeats], directSeconds = new double[repeats];
        Sample[] oursRuns = new Sample[repeats];
        boolean direct = true, cold = Boolean.parseBoolean(a.getOrDefault("cold", "false"));
        for (int r = -warmup; r < repeats; r++) {
            if (cold) Harness.dropCaches();
            double f = Harness.seconds(() -> floor(inputs, work.resolve("floor.bin"), outBytes));
            double fd = 0;
            if (direct) {
                try {
                    if (cold) Harness.dropCaches();
                    fd = Harness.seconds(() -> floorDirect(inputs, work.resolve("floor.bin"), outBytes));
                } catch (IOException | UnsupportedOperationException e) {
                    System.out.println("# no direct-write floor: " + e);
                    direct = false;
                }
            }
            Sample ours = runOnce(oursCmd, models, out, cold);
            if (r < 0) continue;
            floorSeconds[r] = f;
            directSeconds[r] = fd;
            oursRuns[r] = ours;
        }
        Harness.Figure floor = report.add(Harness.figure("merge.floor.seconds", "s", floorSeconds));
        Harness.Figure floorDirect = direct ? report.add(Harness.figure("merge.floor_direct.seconds", "s",
                directSeconds)) : null;
        Harness.Figure ours = report(report, "merge.mergelab", oursRuns);
        report.add(Harness.ratio("merge.mergelab_over_floor", ours, floor));
        if (floorDirect != null) report.add(Harness.ratio("merge.mergelab_over_floor_direct", ours, floorDirect));
        // What the merge moved: the inputs' weight files, and the weight files of MergeLab's last output.
        report.add(Harness.figure("merge.bytes_read", "B", new double[] {inBytes}));
        report.add(Harness.figure("merge.bytes_written", "B", new double[] {weightBytes(out)}));
        if (Files.isExecutable(Path.of(mergekit))) {
            try {
                Harness.Figure theirs = runChild(report, "merge.mergekit", warmup, repeats, List.of(mergekit,
                        recipeFile.toString(), out.toString(), "--no-write-model-card", "--quiet"), models, out, cold);
                report.add(Harness.ratio("merge.mergekit_over_mergelab", theirs, ours));
            } catch (IOException e) {
                System.out.println("# mergekit failed on this recipe: " + e.getMessage());
            }
        } else {
            System.out.println("# mergekit not found at " + mergekit + ": that baseline is skipped");
        }
        deleteTree(out);
        Files.deleteIfExists(work.resolve("floor.bin"));
        if (Boolean.parseBoolean(a.getOrDefault("delete-models", "false"))) deleteTree(models);
    }

    /** One run of a merge command: wall and CPU seconds, peak RssAnon and RssFile at that peak (MB). */
    private record Sample(double wall, double cpu, double anonMb, double fileMb) {}

    /** Runs a merge command {@code repeats} times (after {@code warmup} more) in {@code cwd}. */
    private static Harness.Figure runChild(Harness.Report report, String name, int warmup, int repeats,
                                           List<String> cmd, Path cwd, Path out, boolean cold) throws Exception {
        Sample[] runs = new Sample[repeats];
        for (int r = -warmup; r < repeats; r++) {
            Sample s = runOnce(cmd, cwd, out, cold);
            if (r >= 0) runs[r] = s;
        }
        return report(report, name, runs);
    }

    /** The figures of a command's runs; returns the wall-time figure. */
    private static Harness.Figure report(Harness.Report report, String name, Sample[] runs) {
        Harness.Figure f = report.add(Harness.figure(name + ".seconds", "s",
                java.util.Arrays.stream(runs).mapToDouble(Sample::wall).toArray()));
        report.add(Harness.figure(name + ".cpu_seconds", "s",
                java.util.Arrays.stream(runs).mapToDouble(Sample::cpu).toArray()));
        report.add(Harness.figure(name + ".peak_rss_anon_mb", "MB",
                java.util.Arrays.stream(runs).mapToDouble(Sample::anonMb).toArray()));
        report.add(Harness.figure(name + ".rss_file_at_peak_mb", "MB",
                java.util.Arrays.stream(runs).mapToDouble(Sample::fileMb).toArray()));
        return f;
    }

    /**
     * Runs a merge command once in {@code cwd}, its output folder removed first (and with {@code cold} the page cache
     * emptied), sampling its memory.
     */
    private static Sample runOnce(List<String> cmd, Path cwd, Path out, boolean cold) throws Exception {
        deleteTree(out); // first: with --cold its pages must not be written back while the run is timed
        if (cold) Harness.dropCaches();
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true);
        pb.environment().put("HF_HUB_OFFLINE", "1");
        pb.environment().put("MERGELAB_MODELS", cwd.toString());
        pb.environment().put("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
        long t0 = System.nanoTime();
        Process p = pb.start();
        Duration cpuTime = Duration.ZERO;
        String[] lastLine = {""};
        ProcessMemory.Peak peak;
        try (ProcessMemory mem = ProcessMemory.watch(p.pid(), 20)) {
            Thread drain = new Thread(() -> {
                try (java.io.BufferedReader r2 = new java.io.BufferedReader(new java.io.InputStreamReader(
                        p.getInputStream()))) {
                    for (String line; (line = r2.readLine()) != null; ) {
                        if (!line.isBlank()) lastLine[0] = line;
                    }
                } catch (IOException ignored) {
                    // the child exited
                }
            });
            drain.start();
            while (p.isAlive()) {
                // The launcher and the JVM it starts, whether it execs it or waits for it.
                Duration sum = p.info().totalCpuDuration().orElse(Duration.ZERO);
                for (ProcessHandle h : p.descendants().toList()) {
                    sum = sum.plus(h.info().totalCpuDuration().orElse(Duration.ZERO));
                }
                if (sum.compareTo(cpuTime) > 0) cpuTime = sum;
                Thread.sleep(20);
            }
            drain.join();
            peak = mem.peak();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ": " + lastLine[0]);
        }
        return new Sample(secs, cpuTime.toNanos() / 1e9, peak.rssAnonKb() / 1024.0, peak.rssFileKb() / 1024.0);
    }

    /**
     * Reads every weight file of the inputs and writes {@code outBytes} to {@code out}, flushed to disk. The buffer is
     * page-aligned like the reads: a plain direct buffer starts 16 bytes into a page, where the kernel's copy from the
     * page cache runs at half speed on AMD Zen 4 (see {@link org.mergelab.io.ReadBuffer}).
     */
    static void floor(List<Path> inputs, Path out, long outBytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect((1 << 22) + 4096).alignedSlice(4096);
        for (Path dir : inputs) {
            for (Path f : weightFiles(dir)) {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                    while (ch.read(buf) > 0) buf.clear();
                }
            }
        }
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long written = 0; written < outBytes; ) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), outBytes - written));
                written += ch.write(buf);
            }
            ch.force(true);
        }
    }

    /**
     * {@link #floor}, the output written with {@code O_DIRECT} (rounded up to whole 4 KiB blocks), past the page
     * cache, then flushed.
     */
    static void floorDirect(List<Path> inputs, Path out, long outBytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect((1 << 22) + 4096).alignedSlice(4096);
        for (Path dir : inputs) {
            for (Path f : weightFiles(dir)) {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                    while (ch.read(buf) > 0) buf.clear();
                }
            }
        }
        long blocks = (outBytes + 4095) / 4096 * 4096;
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            for (long written = 0; written < blocks; ) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), blocks - written));
                written += ch.write(buf);
            }
            ch.force(true);
        }
    }

    static List<Path> weightFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    static long weightBytes(Path dir) throws IOException {
        long n = 0;
        for (Path p : weightFiles(dir)) n += Files.size(p);
        return n;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    /** bin/mergelab of the checkout the bench runs from. */
    static Path launcher() throws IOException {
        Path bin = Path.of(System.getProperty("mergelab.home", ".")).resolve("bin/mergelab").toAbsolutePath();
        if (!Files.isExecutable(bin)) throw new IOException("no launcher at " + bin);
        return bin;
    }
}
