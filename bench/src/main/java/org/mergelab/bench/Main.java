package org.mergelab.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code bin/bench NAME [ARGS]}: runs one benchmark; every figure is one parsable BENCH line. */
public final class Main {
    interface Benchmark {
        String summary();

        void run(String[] args) throws Exception;
    }

    static final Map<String, Benchmark> BENCHMARKS = new LinkedHashMap<>();

    static {
        BENCHMARKS.put("read-floor", new ReadFloor());
        BENCHMARKS.put("merge", new MergeBench());
        BENCHMARKS.put("divergence", new DivergenceBench());
        BENCHMARKS.put("forward", new ForwardBench());
        BENCHMARKS.put("decode-matvec", new MatvecBench());
        BENCHMARKS.put("read-placement", new ReadPlacementBench());
    }

    private Main() {}

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0 || !BENCHMARKS.containsKey(argv[0])) {
            System.err.println("usage: bin/bench NAME [ARGS]");
            BENCHMARKS.forEach((k, v) -> System.err.printf("  %-16s %s%n", k, v.summary()));
            System.exit(argv.length == 0 ? 2 : 1);
        }
        Benchmark b = BENCHMARKS.get(argv[0]);
        String[] args = Arrays.copyOfRange(argv, 1, argv.length);
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            System.out.println("usage: bin/bench " + argv[0] + " " + b.summary());
            return;
        }
        System.out.println("# machine: " + Machine.describe());
        try {
            b.run(args);
        } catch (IllegalArgumentException e) {
            // a mistyped option: say which, and how the benchmark is called, without a stack trace
            System.err.println("bin/bench " + argv[0] + ": " + e.getMessage());
            System.err.println("usage: bin/bench " + argv[0] + " " + b.summary());
            System.exit(2);
        }
    }
}
