package org.mergelab.recipe;

import java.util.List;

/**
 * A parameter's value as a recipe writes it: a scalar, a gradient (a list of values spread evenly over the layers
 * of a slice), or a list of conditionals whose first matching {@code filter} supplies the value.
 */
public sealed interface Setting {
    /** The recipe line the setting starts on. */
    int line();

    record Scalar(Object value, int line) implements Setting {}

    record Gradient(List<Object> values, int line) implements Setting {}

    /** @param filter a substring of the tensor name, {@code "*"}, or null (matches everything) */
    record Conditional(String filter, Setting value, int line) {}

    record Conditionals(List<Conditional> entries, int line) implements Setting {}
}
