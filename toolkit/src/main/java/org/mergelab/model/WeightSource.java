package org.mergelab.model;

import java.util.Map;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.Tensor;
import org.mergelab.io.TensorInfo;

/**
 * Where a model's tensors come from, by their transformers names: a checkpoint folder (read one tensor at a time,
 * in any stored dtype, as float32) or tensors already in memory (an in-memory merge).
 */
public interface WeightSource {
    boolean has(String name);

    /** The tensor's shape, as stored (torch order). */
    long[] shape(String name);

    /** The tensor as float32, in a fresh array the caller may keep. */
    float[] read(String name);

    /** Names the source in error messages: a folder, or "merge of ...". */
    String describe();

    /** The tensors of an open checkpoint (the caller closes it). */
    static WeightSource of(Checkpoint checkpoint) {
        return new WeightSource() {
            @Override
            public boolean has(String name) { return checkpoint.has(name); }

            @Override
            public long[] shape(String name) { return checkpoint.info(name).shape(); }

            @Override
            public float[] read(String name) {
                TensorInfo t = checkpoint.info(name);
                if (!t.dtype().isFloating()) {
                    throw new UnsupportedModelException(t.file() + ": tensor " + name + " is " + t.dtype()
                            + ", not a floating-point type");
                }
                return checkpoint.read(name).data();
            }

            @Override
            public String describe() { return checkpoint.dir().toString(); }
        };
    }

    /** Tensors in memory, by name (their arrays are used as they are, not copied, where the layout allows). */
    static WeightSource of(Map<String, Tensor> tensors, String description) {
        return new WeightSource() {
            @Override
            public boolean has(String name) { return tensors.containsKey(name); }

            @Override
            public long[] shape(String name) { return tensor(name).shape(); }

            @Override
            public float[] read(String name) { return tensor(name).data(); }

            private Tensor tensor(String name) {
                Tensor t = tensors.get(name);
                if (t == null) throw new UnsupportedModelException(description + " has no tensor " + name);
                return t;
            }

            @Override
            public String describe() { return description; }
        };
    }
}
