package org.mergelab.bench;

import java.nio.file.Path;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.TensorInfo;

/**
 * The floor every streaming job is measured against: reading every tensor of a checkpoint into float32, one at a
 * time into a reused buffer, through the same reader the merges and analyses use.
 */
final class ReadFloor implements Main.Benchmark {
    @Override
    public String summary() {
        return "MODEL_DIR [REPEATS]: seconds to read every tensor as float32 (the floor for streaming jobs)";
    }

    @Override
    public void run(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        long bytes;
        try (Checkpoint c = Checkpoint.open(model)) {
            bytes = c.byteSize();
        }
        Harness.Figure f = Harness.measure("read-floor.seconds", "s", 1, repeats, () -> Harness.seconds(() -> readAll(model)));
        System.out.println(f.line());
        System.out.println(Harness.figure("read-floor.bytes_per_s", "B/s", new double[] {bytes / f.median()}).line());
    }

    static void readAll(Path model) {
        try (Checkpoint c = Checkpoint.open(model)) {
            float[] buf = new float[0];
            for (String n : c.tensorNames()) {
                TensorInfo t = c.info(n);
                if (buf.length < t.numel()) buf = new float[(int) t.numel()];
                c.readInto(n, buf);
            }
        }
    }
}
