package org.mergelab.merge;

import java.util.List;
import java.util.Map;
import org.mergelab.io.TensorInfo;

/**
 * Everything a method needs to merge one tensor: the inputs' data (float32, equal shapes, in recipe order), which
 * one is the base, and the parameter values the recipe resolves to for this tensor.
 */
public final class TensorInputs {
    private final String name;
    private final long[] shape;
    private final List<float[]> data;
    private final List<String> models;
    private final int baseIndex;
    private final Map<String, Object> shared;
    private final List<Map<String, Object>> perModel;
    private final int numel;
    private final float[] output;

    public TensorInputs(String name, long[] shape, List<float[]> data, List<String> models, int baseIndex,
                        Map<String, Object> shared, List<Map<String, Object>> perModel, float[] output) {
        this.name = name;
        this.shape = shape;
        this.data = data;
        this.models = models;
        this.baseIndex = baseIndex;
        this.shared = shared;
        this.perModel = perModel;
        this.numel = Math.toIntExact(TensorInfo.numel(shape));
        if (output.length < numel) throw new IllegalArgumentException(name + ": output buffer too short");
        this.output = output;
    }

    /** Builds inputs with a fresh output buffer (for direct calls, e.g. from tests). */
    public TensorInputs(String name, long[] shape, List<float[]> data, List<String> models, int baseIndex,
                        Map<String, Object> shared, List<Map<String, Object>> perModel) {
        this(name, shape, data, models, baseIndex, shared, perModel, new float[Math.toIntExact(TensorInfo.numel(shape))]);
    }

    /**
     * Where the method writes its result: at least {@link #numel()} long, reused between tensors, so its contents
     * are stale and every element must be written.
     */
    public float[] output() { return output; }

    public String name() { return name; }

    public long[] shape() { return shape.clone(); }

    /** Elements per tensor (the arrays may be longer: buffers are reused across tensors). */
    public int numel() { return numel; }

    public int size() { return data.size(); }

    public float[] tensor(int i) { return data.get(i); }

    public String model(int i) { return models.get(i); }

    public boolean hasBase() { return baseIndex >= 0; }

    public int baseIndex() { return baseIndex; }

    public float[] base() {
        if (baseIndex < 0) throw new IllegalStateException(name + ": no base model among the inputs");
        return data.get(baseIndex);
    }

    public double sharedDouble(String param) {
        return ((Number) shared.get(param)).doubleValue();
    }

    public boolean sharedBool(String param) {
        return (Boolean) shared.get(param);
    }

    public Object shared(String param) {
        return shared.get(param);
    }

    public double perModelDouble(int i, String param) {
        return ((Number) perModel.get(i).get(param)).doubleValue();
    }

    public Map<String, Object> perModel(int i) {
        return perModel.get(i);
    }
}
