package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.io.GgufImporter;

final class ImportGgufCommand implements Main.Command {
    @Override
    public String usage() {
        return "import-gguf FILE.gguf OUT_DIR [--force]";
    }

    @Override
    public String summary() {
        return "Turn a llama.cpp GGUF file (Llama architecture; F32, F16, BF16 or Q8_0 tensors) into a Hugging Face\n"
                + "LlamaForCausalLM folder: config.json from the GGUF metadata, model.safetensors (Q8_0 dequantized to\n"
                + "float32, query/key rows back in transformers' order) and, for SentencePiece vocabularies, the\n"
                + "tokenizer files. --force replaces an existing OUT_DIR (only once the new one is complete).";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("force"), Set.of());
        Path gguf = Path.of(a.positional(0, "FILE.gguf"));
        Path dir = Path.of(a.positional(1, "OUT_DIR"));
        a.expectPositionals(2);
        Path done = GgufImporter.importModel(gguf, dir, a.flag("force"));
        out.println("wrote " + done);
        return 0;
    }
}
