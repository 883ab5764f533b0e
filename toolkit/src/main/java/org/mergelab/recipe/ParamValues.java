package org.mergelab.recipe;

/** Converts recipe values to a parameter's declared type, leniently where mergekit's validation is lenient. */
final class ParamValues {
    private ParamValues() {}

    static Object validate(ParamSpec p, Object value, String where, int line) {
        if (value == null) {
            throw new RecipeException(where, line, "parameter '" + p.name() + "' has no value");
        }
        switch (p.type()) {
            case FLOAT: {
                Double d = asDouble(value);
                if (d == null) throw wrongType(p, value, where, line);
                return d;
            }
            case INT: {
                Double d = asDouble(value);
                if (d == null || d != Math.rint(d)) throw wrongType(p, value, where, line);
                return (int) (double) d;
            }
            case BOOL: {
                if (value instanceof Boolean b) return b;
                String s = value.toString().toLowerCase(java.util.Locale.ROOT);
                switch (s) {
                    case "true": case "yes": case "on": case "1": case "t": case "y": return true;
                    case "false": case "no": case "off": case "0": case "f": case "n": return false;
                    default: throw wrongType(p, value, where, line);
                }
            }
            default:
                return value.toString();
        }
    }

    private static final java.util.regex.Pattern DECIMAL = java.util.regex.Pattern.compile(
            "[+-]?(?:[0-9][0-9_]*(?:\\.[0-9_]*)?|\\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?");
    private static final java.util.regex.Pattern SPECIAL = java.util.regex.Pattern.compile(
            "(?i)[+-]?(?:inf|infinity|nan)");

    private static Double asDouble(Object value) {
        if (value instanceof Boolean) return null;
        if (value instanceof Number n) return n.doubleValue();
        if (value instanceof String s) {
            // Python's float() syntax (what mergekit's validation accepts), not Java's: "2d", "0.5f" and hex floats
            // are not numbers in a recipe.
            String t = s.trim();
            if (DECIMAL.matcher(t).matches()) return Double.parseDouble(t.replace("_", ""));
            if (SPECIAL.matcher(t).matches()) {
                String u = t.toLowerCase(java.util.Locale.ROOT);
                if (u.contains("nan")) return Double.NaN;
                return u.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            }
            return null;
        }
        return null;
    }

    static String describe(ParamSpec.Type t) {
        return switch (t) {
            case FLOAT -> "a number";
            case INT -> "an integer";
            case BOOL -> "a boolean";
            case STRING -> "a string";
        };
    }

    private static RecipeException wrongType(ParamSpec p, Object value, String where, int line) {
        return new RecipeException(where, line, "parameter '" + p.name() + "' must be " + describe(p.type())
                + ", not '" + value + "'");
    }
}
