package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.mergelab.hub.Hub;
import org.mergelab.io.Checkpoint;

final class DownloadCommand implements Main.Command {
    private final Map<String, String> env;

    DownloadCommand() {
        this(System.getenv());
    }

    /** With the given environment instead of the process's (HF_ENDPOINT, HF_HUB_CACHE, ...): for tests. */
    DownloadCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public String usage() {
        return "download ORG/NAME[@REVISION] [--revision R] [--include GLOB]...";
    }

    @Override
    public String summary() {
        return "Download a model from the Hugging Face Hub into the Hugging Face cache (shared with Python's\n"
                + "huggingface_hub: what either downloaded, the other reuses) and print its snapshot folder.\n"
                + "Fetches only what a model needs: config, tokenizer files and the safetensors weights (the .bin\n"
                + "weights when a repository has no safetensors). Partial downloads resume; every file is checked\n"
                + "against the Hub's sha256 or git hash.\n\n"
                + "  --revision R     branch, tag or commit (default main; ORG/NAME@R says the same)\n"
                + "  --include GLOB   fetch the files matching GLOB instead (repeatable, e.g. --include '*.json')\n\n"
                + "Environment: HF_ENDPOINT, HF_TOKEN (gated repositories), HF_HUB_CACHE or HF_HOME, HF_HUB_OFFLINE=1.";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        // --include may repeat; Args keeps one value per option, so collect those here.
        List<String> include = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (s.equals("--include")) {
                if (i + 1 >= argv.size()) throw new Args.UsageException("option --include needs a value");
                include.add(argv.get(++i));
            } else if (s.startsWith("--include=")) {
                include.add(s.substring("--include=".length()));
            } else {
                rest.add(s);
            }
        }
        Args a = Args.parse(rest, Set.of(), Set.of("revision"));
        String id = a.positional(0, "ORG/NAME");
        a.expectPositionals(1);
        String revision = a.option("revision");
        int at = id.indexOf('@');
        if (at >= 0) {
            if (revision != null) throw new Args.UsageException("give the revision once: ORG/NAME@R or --revision R");
            revision = id.substring(at + 1);
            id = id.substring(0, at);
        }
        if (!Hub.isRepoId(id)) throw new Args.UsageException("'" + id + "' is not a Hub model id (ORG/NAME)");
        Hub hub = new Hub(Hub.Settings.fromEnvironment(env));
        ProgressBar bar = new ProgressBar(System.err, "download");
        Path dir = hub.snapshot(id, revision, include.isEmpty() ? null : include, bar);
        if (include.isEmpty()) {
            try (Checkpoint c = Checkpoint.open(dir)) {
                out.printf("%s: %d tensors, %s%n", id + (revision != null ? "@" + revision : ""), c.tensorNames().size(),
                        ProgressBar.bytes(c.byteSize()));
            }
        }
        out.println(dir);
        return 0;
    }
}
