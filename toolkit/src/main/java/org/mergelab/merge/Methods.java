package org.mergelab.merge;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The merge methods by the names recipes use: every method of mergekit 0.1.5. */
public final class Methods {
    private static final Map<String, MergeMethod> BY_NAME = new LinkedHashMap<>();

    static {
        for (MergeMethod m : List.of(new LinearMerge(), new SlerpMerge(), new NuSlerpMerge(), new MultiSlerpMerge(),
                new KarcherMerge(), TaskArithmeticMerge.taskArithmetic(), TaskArithmeticMerge.ties(),
                TaskArithmeticMerge.dareTies(), TaskArithmeticMerge.dareLinear(), TaskArithmeticMerge.breadcrumbs(),
                TaskArithmeticMerge.breadcrumbsTies(), TaskArithmeticMerge.della(), TaskArithmeticMerge.dellaLinear(),
                new SceMerge(), new RamMerge(), new RamPlusTlMerge(), new ModelStockMerge(), new NearSwapMerge(),
                new ArceeFusionMerge(), new PassthroughMerge())) {
            BY_NAME.put(m.name(), m);
        }
    }

    private Methods() {}

    public static Optional<MergeMethod> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    public static List<String> names() {
        return List.copyOf(BY_NAME.keySet());
    }
}
