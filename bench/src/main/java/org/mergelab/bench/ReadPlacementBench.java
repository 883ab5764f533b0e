package org.mergelab.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How much the placement of a read's buffer costs: the same files read with 2 MiB positional reads on all cores (as
 * the divergence bench's raw read does), into buffers that start 0, 8, 16, 24, 32 or 64 bytes past a page boundary,
 * rounds interleaved. Linux copies page-cache bytes with {@code rep movsb}, and on AMD Zen 4 that copy slows down
 * when the destination runs 1 to 31 bytes ahead of the source modulo 4 KiB; {@link org.mergelab.io.ReadBuffer} keeps
 * the toolkit's reads out of that band. Each offset's seconds and its ratio to offset 0 are printed.
 */
final class ReadPlacementBench implements Main.Benchmark {
    static final int[] LEADS = {0, 8, 16, 24, 32, 64};

    @Override
    public String summary() {
        return "[--repeats N] FILE...: 2 MiB reads of the files (warm) into buffers 0, 8, 16, 24, 32 and 64 bytes past a"
                + " page boundary (default files: the divergence bench's kept pair)";
    }

    @Override
    public void run(String[] args) throws Exception {
        int repeats = 5;
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--repeats")) repeats = Integer.parseInt(args[++i]);
            else files.add(Path.of(args[i]));
        }
        if (files.isEmpty()) {
            Path scratch = Path.of(System.getProperty("java.io.tmpdir"), "mergelab-bench-divergence");
            for (String m : List.of("base", "tuned")) files.add(scratch.resolve(m).resolve("model.safetensors"));
        }
        long bytes = 0;
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new IllegalArgumentException(f + " is not a file (run 'bin/bench divergence --keep' first, or"
                        + " name files)");
            }
            bytes += Files.size(f);
        }
        int threads = Runtime.getRuntime().availableProcessors();
        System.out.printf("# %d files, %.2f GB, %d threads, 2 MiB reads%n", files.size(), bytes / 1e9, threads);
        for (int lead : LEADS) DivergenceBench.readRaw(files, threads, 2 << 20, lead); // page cache filled, code compiled
        double[][] seconds = new double[LEADS.length][repeats];
        for (int r = 0; r < repeats; r++) {
            for (int k = 0; k < LEADS.length; k++) {
                int lead = LEADS[k];
                seconds[k][r] = Harness.seconds(() -> DivergenceBench.readRaw(files, threads, 2 << 20, lead));
            }
        }
        Harness.Report report = new Harness.Report();
        Harness.Figure aligned = report.add(Harness.figure("read.lead0.seconds", "s", seconds[0]));
        for (int k = 1; k < LEADS.length; k++) {
            Harness.Figure f = report.add(Harness.figure("read.lead" + LEADS[k] + ".seconds", "s", seconds[k]));
            report.add(Harness.ratio("read.lead" + LEADS[k] + "/lead0", f, aligned));
        }
    }
}
