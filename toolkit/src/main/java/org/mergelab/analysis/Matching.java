package org.mergelab.analysis;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.TensorInfo;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Which tensors of a reference checkpoint can be compared with each of several others: same name, same shape, both
 * floating point in a dtype we read. Everything else is listed with the reason, so models of different
 * architectures or sizes still get rows for what matches and a clear list of what does not.
 */
final class Matching {
    /** The reference's comparable tensor names, in natural order. */
    final List<String> names = new ArrayList<>();
    /** For each name, the indices of the models it is compared with. */
    final List<int[]> models = new ArrayList<>();
    /** Per model, what could not be compared: name and reason. */
    final List<Table> unmatched = new ArrayList<>();

    private Matching() {}

    static boolean readable(DType d) {
        return d == DType.BF16 || d == DType.F16 || d == DType.F32 || d == DType.F64;
    }

    static Matching of(Checkpoint reference, List<Checkpoint> others) {
        Matching m = new Matching();
        List<String> all = new ArrayList<>(reference.tensorNames());
        all.sort(TensorOrder.NATURAL);
        List<List<Integer>> perName = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) perName.add(new ArrayList<>());
        for (int k = 0; k < others.size(); k++) {
            Checkpoint o = others.get(k);
            StringColumn uName = StringColumn.create("name");
            StringColumn uReason = StringColumn.create("reason");
            String arch = architecture(reference), otherArch = architecture(o);
            if (!Objects.equals(arch, otherArch)) {
                uName.append("(config.json)");
                uReason.append("architecture " + arch + " in " + reference.name() + " but " + otherArch + " in "
                        + o.name() + ": only tensors with the same name and shape are compared");
            }
            for (int i = 0; i < all.size(); i++) {
                String n = all.get(i);
                TensorInfo a = reference.info(n);
                if (!o.has(n)) {
                    uName.append(n);
                    uReason.append("only in " + reference.name());
                } else if (!Arrays.equals(a.shape(), o.info(n).shape())) {
                    uName.append(n);
                    uReason.append("shape " + a.shapeString() + " in " + reference.name() + " but "
                            + o.info(n).shapeString() + " in " + o.name());
                } else if (!a.dtype().isFloating() || !o.info(n).dtype().isFloating()) {
                    uName.append(n);
                    uReason.append("not floating point");
                } else if (!readable(a.dtype()) || !readable(o.info(n).dtype())) {
                    uName.append(n);
                    uReason.append("dtype " + a.dtype() + " / " + o.info(n).dtype() + " is not read by the analysis");
                } else {
                    perName.get(i).add(k);
                }
            }
            List<String> extra = new ArrayList<>();
            for (String n : o.tensorNames()) if (!reference.has(n)) extra.add(n);
            extra.sort(TensorOrder.NATURAL);
            for (String n : extra) {
                uName.append(n);
                uReason.append("only in " + o.name());
            }
            m.unmatched.add(Table.create("tensors not compared", uName, uReason));
        }
        for (int i = 0; i < all.size(); i++) {
            if (perName.get(i).isEmpty()) continue;
            m.names.add(all.get(i));
            m.models.add(perName.get(i).stream().mapToInt(Integer::intValue).toArray());
        }
        return m;
    }

    private static String architecture(Checkpoint c) {
        var a = c.config().get("architectures");
        return a != null && a.isArray() && a.size() > 0 ? a.get(0).asText() : null;
    }
}
