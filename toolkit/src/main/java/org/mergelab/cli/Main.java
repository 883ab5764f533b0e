package org.mergelab.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code mergelab COMMAND ...}: the command-line entry point. Exit status 0 on success, 1 on failure, 2 on misuse. */
public final class Main {
    interface Command {
        String usage();

        String summary();

        int run(List<String> args, PrintStream out) throws Exception;
    }

    static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("demo", new DemoCommand());
        COMMANDS.put("import-llama2c", new ImportLlama2cCommand());
        COMMANDS.put("export-llama2c", new ExportLlama2cCommand());
        COMMANDS.put("merge", new MergeCommand());
        COMMANDS.put("compare", new CompareCommand());
        COMMANDS.put("notebook", new NotebookCommand());
        COMMANDS.put("data", new DataCommand());
        COMMANDS.put("make-test-model", new MakeTestModelCommand());
        COMMANDS.put("import-gguf", new ImportGgufCommand());
        COMMANDS.put("download", new DownloadCommand());
        COMMANDS.put("generate", new GenerateCommand());
        COMMANDS.put("eval", new EvalCommand());
    }

    private Main() {}

    public static void main(String[] argv) {
        System.exit(run(argv, System.out, System.err));
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
            printHelp(argv.length == 0 ? err : out);
            return argv.length == 0 ? 2 : 0;
        }
        Command c = COMMANDS.get(argv[0]);
        if (c == null) {
            err.println("mergelab: unknown command '" + argv[0] + "'");
            printHelp(err);
            return 2;
        }
        List<String> rest = Arrays.asList(argv).subList(1, argv.length);
        if (rest.contains("--help") || rest.contains("-h")) {
            out.println("usage: mergelab " + c.usage());
            out.println();
            out.println(c.summary());
            return 0;
        }
        try {
            return c.run(rest, out);
        } catch (Args.UsageException e) {
            err.println("mergelab " + argv[0] + ": " + e.getMessage());
            err.println("usage: mergelab " + c.usage());
            return 2;
        } catch (Exception e) {
            err.println("mergelab " + argv[0] + ": " + message(e));
            if (System.getenv("MERGELAB_DEBUG") != null) e.printStackTrace(err);
            return 1;
        }
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        return m;
    }

    static void printHelp(PrintStream out) {
        out.println("MergeLab: merge language models, see how the parents differ, compare what the merges say.");
        out.println();
        out.println("usage: mergelab COMMAND [ARGS]   (mergelab COMMAND --help for details)");
        out.println();
        for (Map.Entry<String, Command> e : COMMANDS.entrySet()) {
            String first = e.getValue().summary().lines().findFirst().orElse("");
            out.printf("  %-16s %s%n", e.getKey(), first);
        }
    }
}
