package org.mergelab.merge;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The merge methods by the names recipes use. */
public final class Methods {
    private static final Map<String, MergeMethod> BY_NAME = new LinkedHashMap<>();

    static {
        for (MergeMethod m : List.of(new LinearMerge(), new SlerpMerge(), new PassthroughMerge())) {
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
