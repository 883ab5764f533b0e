package org.mergelab.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.mergelab.analysis.Divergence;
import org.mergelab.analysis.TaskVectors;
import org.mergelab.hub.TestModels;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;

/**
 * Analysis is memory-bound, so its figure of merit is bytes of parameters read per second. This measures the
 * divergence table of two checkpoints against merely reading the same files, in the same run, rounds interleaved:
 * <ul>
 *   <li>{@code read-raw}: every byte of both checkpoints' files read with positional reads on all cores into reused
 *       buffers, nothing decoded: the strictest floor;</li>
 *   <li>{@code read-floor}: {@link ReadFloor}'s floor, every tensor of both read as float32 one at a time through the
 *       toolkit's reader (one thread);</li>
 *   <li>{@code divergence}: {@code Divergence.between(a, b)}, every figure of the table;</li>
 *   <li>{@code task-vectors}: {@code TaskVectors.of(a, b)}, the task-vector table of b against a (norms, sparsity,
 *       top-mass shares, kurtosis, what TIES and DARE keep), which also selects each tensor's top entries.</li>
 * </ul>
 * With {@code --cold}, the page cache is emptied before every timed read ({@code sync}, then
 * {@code /proc/sys/vm/drop_caches}, which needs root), so both the raw read and the divergence read the files from the
 * disk, as the first analysis of freshly downloaded checkpoints does; only those two are timed then.
 *
 * <p>Without model folders it writes a TinyLlama-1.1B-shaped base and "fine-tune" (bf16, random weights, 2.2 GB each)
 * with {@link TestModels} into a scratch folder and deletes them afterwards. Each figure is wall-clock seconds;
 * process CPU seconds are printed beside it (on a shared machine they show contention).
 */
final class DivergenceBench implements Main.Benchmark {
    @Override
    public String summary() {
        return "[--a DIR --b DIR | --scratch DIR] [--model NAME] [--repeats N] [--keep] [--cold]: divergence and task-vector tables vs reading"
                + " the files (default: TinyLlama-1.1B shapes, bf16, written to a scratch folder and deleted)";
    }

    @Override
    public void run(String[] args) throws Exception {
        Path a = null, b = null, scratch = Path.of(System.getProperty("java.io.tmpdir"), "mergelab-bench-divergence");
        String model = "TinyLlama-1.1B";
        int repeats = 5;
        boolean keep = false, cold = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--a" -> a = Path.of(args[++i]);
                case "--b" -> b = Path.of(args[++i]);
                case "--scratch" -> scratch = Path.of(args[++i]);
                case "--model" -> model = args[++i];
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--keep" -> keep = true;
                case "--cold" -> cold = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; " + summary());
            }
        }
        boolean generated = a == null;
        if (generated) {
            a = scratch.resolve("base");
            b = scratch.resolve("tuned");
            if (!Files.isDirectory(a) || !Files.isDirectory(b)) {
                long t0 = System.nanoTime();
                TestModels.write(model, a, DType.BF16, 1, 0, 0);
                TestModels.write(model, b, DType.BF16, 1, 7, 0.1);
                System.out.printf("# wrote %s-shaped bf16 checkpoints into %s in %.1f s%n", model, scratch,
                        (System.nanoTime() - t0) / 1e9);
            }
        }
        try {
            if (cold) measureCold(a, b, repeats);
            else measure(a, b, repeats);
        } finally {
            if (generated && !keep) delete(scratch);
        }
    }

    private static void measure(Path a, Path b, int repeats) throws Exception {
        long bytes;
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            bytes = ca.byteSize() + cb.byteSize();
        }
        List<Path> files = filesOf(a, b);
        int threads = Runtime.getRuntime().availableProcessors();
        System.out.printf("# %s + %s: %.2f GB of tensors in %d files; %d threads; %s%n", a, b, bytes / 1e9, files.size(),
                threads, kernel());
        // Warm-up: the page cache holds the files, the JIT has compiled every loop.
        readRaw(files, threads);
        ReadFloor.readAll(a);
        Divergence.between(a, b);
        TaskVectors.of(a, b);
        double[][] raw = new double[2][repeats], floor = new double[2][repeats], div = new double[2][repeats];
        double[][] tv = new double[2][repeats];
        for (int r = 0; r < repeats; r++) {
            timed(raw, r, () -> readRaw(files, threads));
            timed(floor, r, () -> {
                ReadFloor.readAll(a);
                ReadFloor.readAll(b);
            });
            timed(div, r, () -> Divergence.between(a, b));
            timed(tv, r, () -> TaskVectors.of(a, b));
        }
        Harness.Report report = new Harness.Report();
        Harness.Figure fRaw = report.add(Harness.figure("read-raw.seconds", "s", raw[0]));
        Harness.Figure fFloor = report.add(Harness.figure("read-floor.seconds", "s", floor[0]));
        Harness.Figure fDiv = report.add(Harness.figure("divergence.seconds", "s", div[0]));
        report.add(Harness.figure("read-raw.cpu_seconds", "s", raw[1]));
        report.add(Harness.figure("read-floor.cpu_seconds", "s", floor[1]));
        report.add(Harness.figure("divergence.cpu_seconds", "s", div[1]));
        Harness.Figure fTv = report.add(Harness.figure("task-vectors.seconds", "s", tv[0]));
        report.add(Harness.figure("task-vectors.cpu_seconds", "s", tv[1]));
        report.add(Harness.figure("divergence.bytes_per_s", "B/s", new double[] {bytes / fDiv.median()}));
        report.add(Harness.figure("read-raw.bytes_per_s", "B/s", new double[] {bytes / fRaw.median()}));
        report.add(Harness.ratio("divergence/read-raw", fDiv, fRaw));
        report.add(Harness.ratio("divergence/read-floor", fDiv, fFloor));
        report.add(Harness.ratio("task-vectors/read-raw", fTv, fRaw));
        report.add(Harness.ratio("task-vectors/read-floor", fTv, fFloor));
        System.out.println("# divergence alone, in a fresh JVM: " + memoryOfOneRun(a, b));
    }

    /** Raw read and divergence, each after the page cache was emptied, rounds interleaved. */
    private static void measureCold(Path a, Path b, int repeats) throws Exception {
        List<Path> files = filesOf(a, b);
        int threads = Runtime.getRuntime().availableProcessors();
        System.out.printf("# cold: %s + %s, %d files, the page cache emptied before each timed job; %d threads; %s%n", a,
                b, files.size(), threads, kernel());
        Divergence.between(a, b); // the JIT compiles the kernel here, not in a timed round
        double[][] raw = new double[2][repeats], div = new double[2][repeats];
        for (int r = 0; r < repeats; r++) {
            Harness.dropCaches();
            timed(raw, r, () -> readRaw(files, threads));
            Harness.dropCaches();
            timed(div, r, () -> Divergence.between(a, b));
        }
        Harness.Report report = new Harness.Report();
        Harness.Figure fRaw = report.add(Harness.figure("cold.read-raw.seconds", "s", raw[0]));
        Harness.Figure fDiv = report.add(Harness.figure("cold.divergence.seconds", "s", div[0]));
        report.add(Harness.figure("cold.read-raw.cpu_seconds", "s", raw[1]));
        report.add(Harness.figure("cold.divergence.cpu_seconds", "s", div[1]));
        report.add(Harness.ratio("cold.divergence/read-raw", fDiv, fRaw));
    }

    private static List<Path> filesOf(Path a, Path b) throws IOException {
        List<Path> files = new ArrayList<>();
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            for (Checkpoint c : List.of(ca, cb)) {
                c.infos().values().stream().map(t -> t.file()).distinct().forEach(files::add);
            }
        }
        return files;
    }

    /**
     * Memory of one divergence in a child JVM, so nothing the floors allocated counts: peak RssAnon (what the
     * analysis needs) and RssFile at that moment (mapped checkpoint pages, reclaimable cache).
     */
    private static String memoryOfOneRun(Path a, Path b) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DivergenceBench.class.getName(),
                a.toString(), b.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ProcessMemory.Peak peak;
        try (ProcessMemory mem = ProcessMemory.watch(p.pid(), 10)) {
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0) throw new IOException("child JVM failed: " + out);
            peak = mem.peak();
            return peak.describe() + "; " + out.lines().filter(l -> l.startsWith("took")).findFirst().orElse("");
        }
    }

    /** The child: one divergence, its time. */
    public static void main(String[] args) {
        long t0 = System.nanoTime();
        Divergence d = Divergence.between(Path.of(args[0]), Path.of(args[1]));
        System.out.printf("took %.2f s for %d tensors%n", (System.nanoTime() - t0) / 1e9, d.rowCount());
    }

    private static String kernel() {
        try {
            var m = Class.forName("org.mergelab.analysis.PairKernel").getDeclaredMethod("describe");
            m.setAccessible(true);
            return "kernel: " + m.invoke(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "kernel: unknown";
        }
    }

    private interface Job {
        void run() throws Exception;
    }

    /** Wall seconds into {@code out[0][r]}, process CPU seconds into {@code out[1][r]}. */
    private static void timed(double[][] out, int r, Job job) throws Exception {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
        job.run();
        out[0][r] = (System.nanoTime() - t0) / 1e9;
        out[1][r] = (os.getProcessCpuTime() - c0) / 1e9;
    }

    /**
     * Every byte of the files, 2 MiB at a time (the fastest block size here, and the divergence's chunk), on all cores,
     * into page-aligned buffers, the fastest place for the copy (see {@link org.mergelab.io.ReadBuffer}); returns a
     * checksum so nothing is optimised away.
     */
    static long readRaw(List<Path> files, int threads) throws Exception {
        return readRaw(files, threads, 2 << 20, 0);
    }

    /**
     * {@link #readRaw(List, int)} in blocks of {@code block} bytes, each buffer starting {@code lead} bytes past a page
     * boundary (0 to 4095): blocks start on page boundaries of the file, so {@code lead} is the destination's distance
     * ahead of the source modulo 4 KiB.
     */
    static long readRaw(List<Path> files, int threads, int block, int lead) throws Exception {
        List<long[]> jobs = new ArrayList<>();
        List<FileChannel> channels = new ArrayList<>();
        try {
            for (Path p : files) {
                FileChannel ch = FileChannel.open(p);
                channels.add(ch);
                for (long off = 0; off < ch.size(); off += block) {
                    jobs.add(new long[] {channels.size() - 1, off, Math.min(block, ch.size() - off)});
                }
            }
            AtomicInteger next = new AtomicInteger();
            long[] sums = new long[threads];
            List<Thread> workers = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (int k = 0; k < threads; k++) {
                int id = k;
                Thread t = new Thread(() -> {
                    ByteBuffer buf = ByteBuffer.allocateDirect(block + 2 * 4096).alignedSlice(4096).position(lead)
                            .slice();
                    try {
                        int j;
                        while ((j = next.getAndIncrement()) < jobs.size()) {
                            long[] job = jobs.get(j);
                            buf.clear().limit((int) job[2]);
                            long pos = job[1];
                            while (buf.hasRemaining()) {
                                int n = channels.get((int) job[0]).read(buf, pos);
                                if (n < 0) throw new IOException("unexpected end of file");
                                pos += n;
                            }
                            sums[id] += buf.get(0);
                        }
                    } catch (Throwable e) {
                        synchronized (errors) {
                            errors.add(e);
                        }
                    }
                });
                t.start();
                workers.add(t);
            }
            for (Thread t : workers) t.join();
            if (!errors.isEmpty()) throw new IOException(errors.get(0));
            long s = 0;
            for (long x : sums) s += x;
            return s;
        } finally {
            for (FileChannel ch : channels) ch.close();
        }
    }

    private static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
