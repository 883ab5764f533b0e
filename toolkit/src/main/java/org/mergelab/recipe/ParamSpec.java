package org.mergelab.recipe;

/**
 * A parameter a merge method declares.
 *
 * @param perModel     looked up for each input model (like {@code weight}) rather than once per tensor (like {@code t})
 * @param includeBase  for a per-model parameter: whether the base model gets a value too
 * @param required     whether a recipe must set it
 * @param defaultValue the value when no recipe level sets it (may be null: "not set")
 */
public record ParamSpec(String name, Type type, boolean perModel, boolean includeBase, boolean required,
                        Object defaultValue) {
    public enum Type { FLOAT, INT, BOOL, STRING }

    public static ParamSpec shared(String name, Type type, Object defaultValue) {
        return new ParamSpec(name, type, false, true, false, defaultValue);
    }

    public static ParamSpec sharedRequired(String name, Type type) {
        return new ParamSpec(name, type, false, true, true, null);
    }

    public static ParamSpec perModel(String name, Type type, Object defaultValue) {
        return new ParamSpec(name, type, true, true, false, defaultValue);
    }

    public static ParamSpec perModelRequired(String name, Type type) {
        return new ParamSpec(name, type, true, true, true, null);
    }

    /** A per-model parameter the base model does not take (density, for example). */
    public static ParamSpec perNonBase(String name, Type type, Object defaultValue) {
        return new ParamSpec(name, type, true, false, false, defaultValue);
    }

    public boolean numeric() {
        return type == Type.FLOAT || type == Type.INT;
    }
}
