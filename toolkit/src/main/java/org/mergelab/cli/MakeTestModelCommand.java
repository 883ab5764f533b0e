package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.hub.TestModels;
import org.mergelab.io.DType;

final class MakeTestModelCommand implements Main.Command {
    @Override
    public String usage() {
        return "make-test-model NAME OUT_DIR [--dtype D] [--seed N] [--fine-tune-seed M --delta X] [--format F]";
    }

    @Override
    public String summary() {
        return "Write a Hugging Face folder with the exact config, tensor names, shapes and sharding of a real Hub\n"
                + "model, filled with seeded random weights (for I/O, speed and memory work on models that cannot be\n"
                + "downloaded here). NAME: " + String.join(", ", TestModels.names()) + ".\n\n"
                + "  --dtype D            storage dtype (default: the real model's)\n"
                + "  --seed N             weights seed (default 1)\n"
                + "  --fine-tune-seed M   add a perturbation drawn from M: a 'fine-tune' of the model with seed N\n"
                + "  --delta X            the perturbation's size relative to the weights (default 0.1)\n"
                + "  --format F           safetensors (default) or bin (PyTorch pytorch_model.bin, sharded alike)";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of(), Set.of("dtype", "seed", "fine-tune-seed", "delta", "format"));
        String name = a.positional(0, "NAME");
        Path dir = Path.of(a.positional(1, "OUT_DIR"));
        a.expectPositionals(2);
        TestModels.Spec spec = TestModels.spec(name);
        DType dtype = a.option("dtype") != null ? DType.parse(a.option("dtype")) : spec.storedDtype();
        long t0 = System.nanoTime();
        TestModels.write(spec, dir, dtype, Long.parseLong(a.option("seed", "1")),
                Long.parseLong(a.option("fine-tune-seed", "0")), Double.parseDouble(a.option("delta", "0.1")),
                format(a.option("format", "safetensors")));
        out.printf("wrote %s (%s shapes, %s) in %.1f s%n", dir, spec.hubId(), dtype.torchName(),
                (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private static TestModels.Format format(String f) {
        return switch (f.toLowerCase(java.util.Locale.ROOT)) {
            case "safetensors" -> TestModels.Format.SAFETENSORS;
            case "bin", "pytorch" -> TestModels.Format.BIN;
            default -> throw new Args.UsageException("--format must be safetensors or bin, not '" + f + "'");
        };
    }
}
