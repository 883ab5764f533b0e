package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.io.Llama2cImporter;

final class ImportLlama2cCommand implements Main.Command {
    @Override
    public String usage() {
        return "import-llama2c MODEL.bin TOKENIZER.model OUT_DIR [--force]";
    }

    @Override
    public String summary() {
        return "Turn a llama2.c checkpoint into a Hugging Face LlamaForCausalLM folder.\n"
                + "MODEL.bin is a llama2.c v0 (legacy) export; TOKENIZER.model its SentencePiece model.\n"
                + "--force replaces an existing OUT_DIR (only once the new one is complete).";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("force"), Set.of());
        Path bin = Path.of(a.positional(0, "MODEL.bin"));
        Path tok = Path.of(a.positional(1, "TOKENIZER.model"));
        Path dir = Path.of(a.positional(2, "OUT_DIR"));
        a.expectPositionals(3);
        Path done = Llama2cImporter.importModel(bin, tok, dir, a.flag("force"));
        out.println("wrote " + done);
        return 0;
    }
}
