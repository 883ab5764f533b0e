package org.mergelab.recipe;

/**
 * A model as a recipe names it: {@code path-or-hub-id[@revision][+lora[@revision]]}, as mergekit writes it.
 */
public record ModelRef(String model, String revision, String lora, String loraRevision) {

    public static ModelRef parse(String text) {
        String[] parts = text.split("\\+", -1);
        if (parts.length > 2) throw new IllegalArgumentException("model reference '" + text + "' has more than one '+'");
        String[] main = splitRevision(text, parts[0]);
        String[] lora = parts.length == 2 ? splitRevision(text, parts[1]) : new String[] {null, null};
        if (main[0].isBlank()) throw new IllegalArgumentException("model reference '" + text + "' names no model");
        return new ModelRef(main[0], main[1], lora[0], lora[1]);
    }

    private static String[] splitRevision(String whole, String part) {
        String[] p = part.split("@", -1);
        if (p.length > 2) throw new IllegalArgumentException("model reference '" + whole + "' has more than one '@'");
        return new String[] {p[0], p.length == 2 ? p[1] : null};
    }

    public static ModelRef of(String model) {
        return new ModelRef(model, null, null, null);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(model);
        if (revision != null) sb.append('@').append(revision);
        if (lora != null) {
            sb.append('+').append(lora);
            if (loraRevision != null) sb.append('@').append(loraRevision);
        }
        return sb.toString();
    }
}
