package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/** Copies the single input, optionally multiplied by {@code scale}: the building block of frankenmerges. */
public final class PassthroughMerge implements MergeMethod, StreamingMerge {
    @Override
    public String name() { return "passthrough"; }

    @Override
    public String prettyName() { return "Passthrough"; }

    @Override
    public String reference() { return "https://github.com/arcee-ai/mergekit"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.perModel("scale", Type.FLOAT, null));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.IGNORED, 1, 1); }

    @Override
    public float[] merge(TensorInputs in) {
        Object scale = in.perModel(0).get("scale");
        if (scale == null) return in.tensor(0);
        float s = ((Number) scale).floatValue();
        float[] x = in.tensor(0);
        float[] out = new float[in.numel()];
        for (int i = 0; i < out.length; i++) out[i] = x[i] * s;
        return out;
    }

    @Override
    public void stream(TensorStream in, TensorStream.Output out) throws java.io.IOException {
        Object scale = in.meta().perModel(0).get("scale");
        float[] x = BufferPool.get(0, TensorStream.CHUNK);
        for (int c = 0; c < in.chunks(); c++) {
            in.read(0, c, x);
            int len = in.chunkLength(c);
            if (scale != null) {
                float s = ((Number) scale).floatValue();
                for (int i = 0; i < len; i++) x[i] = x[i] * s;
            }
            out.write(c, x, len);
        }
    }
}
