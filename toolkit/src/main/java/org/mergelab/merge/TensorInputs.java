package org.mergelab.merge;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.mergelab.io.DType;
import org.mergelab.io.TensorInfo;

/**
 * Everything a method needs to merge one tensor: the inputs' data (float32 holding values of the working dtype,
 * equal shapes, in recipe order), which one is the base, the parameter values the recipe resolves to for this
 * tensor, the working dtype's rounding, the tensor's random streams and the corrections in force.
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
    private final Precision precision;
    private final RandomStreams random;
    private final Set<Correction> corrections;
    private final Transcendentals transcendentals;

    /** Inputs computed in float32, with random seed 0 and no corrections. */
    public TensorInputs(String name, long[] shape, List<float[]> data, List<String> models, int baseIndex,
                        Map<String, Object> shared, List<Map<String, Object>> perModel) {
        this(name, shape, data, models, baseIndex, shared, perModel, DType.F32, RandomStreams.seeded(0), Set.of());
    }

    /**
     * @param workDtype   the dtype mergekit computes this tensor in (the recipe's dtype, else the inputs' promoted
     *                    dtype); {@code data} already holds values of it
     * @param random      where the tensor's random numbers come from
     * @param corrections the departures from mergekit in force
     */
    public TensorInputs(String name, long[] shape, List<float[]> data, List<String> models, int baseIndex,
                        Map<String, Object> shared, List<Map<String, Object>> perModel, DType workDtype,
                        RandomStreams random, Set<Correction> corrections) {
        this(name, shape, data, models, baseIndex, shared, perModel, workDtype, random, corrections,
                Transcendentals.ROUNDED_FROM_DOUBLE);
    }

    /** @param transcendentals where acos, sin and cos come from (see {@link Transcendentals}) */
    public TensorInputs(String name, long[] shape, List<float[]> data, List<String> models, int baseIndex,
                        Map<String, Object> shared, List<Map<String, Object>> perModel, DType workDtype,
                        RandomStreams random, Set<Correction> corrections, Transcendentals transcendentals) {
        this.name = name;
        this.shape = shape;
        this.data = data;
        this.models = models;
        this.baseIndex = baseIndex;
        this.shared = shared;
        this.perModel = perModel;
        this.numel = Math.toIntExact(TensorInfo.numel(shape));
        this.precision = Precision.of(workDtype);
        this.random = random;
        this.corrections = Set.copyOf(corrections);
        this.transcendentals = transcendentals;
    }

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

    /** The positions of the inputs other than the base, in recipe order. */
    public int[] nonBase() {
        int[] out = new int[baseIndex >= 0 ? data.size() - 1 : data.size()];
        for (int i = 0, k = 0; i < data.size(); i++) {
            if (i != baseIndex) out[k++] = i;
        }
        return out;
    }

    /** The working dtype's rounding: what torch rounds each operation's result to. */
    Precision precision() { return precision; }

    public DType workDtype() { return precision.dtype(); }

    /** The key of input {@code i}'s counter-based draws for this tensor ({@link RandomStreams#uniform}). */
    public long randomKey(int i) {
        return random.key(name, i);
    }

    /** The random stream of input {@code i} for this tensor (see {@link RandomStreams}). */
    public SplittableRandom random(int i) {
        return random.stream(name, i);
    }

    public Transcendentals transcendentals() {
        return transcendentals;
    }

    public boolean corrects(Correction c) {
        return corrections.contains(c);
    }

    public double sharedDouble(String param) {
        return ((Number) shared.get(param)).doubleValue();
    }

    public boolean sharedBool(String param) {
        return (Boolean) shared.get(param);
    }

    public int sharedInt(String param) {
        return ((Number) shared.get(param)).intValue();
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
