package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/** Copies the single input, optionally multiplied by {@code scale}: the building block of frankenmerges. */
public final class PassthroughMerge implements MergeMethod {
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
}
