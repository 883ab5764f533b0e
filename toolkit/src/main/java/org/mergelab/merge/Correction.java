package org.mergelab.merge;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Departures from mergekit 0.1.5 that a merge may opt into ({@code --correct NAME} on the command line,
 * {@link MergeOptions#withCorrections} in code). By default MergeLab reproduces mergekit, bugs included; each
 * correction fixes one thing mergekit gets wrong, and the method's Javadoc describes both behaviours.
 */
public enum Correction {
    /**
     * DARE and DELLA rescale each kept element of a task vector by {@code 1/p} (its keep probability), as the
     * papers do, instead of mergekit's rescaling of the whole tensor to its original L1 norm.
     */
    RESCALE_BY_PROBABILITY("rescale-by-probability",
            "DARE, DELLA: kept entries divided by p (the papers), not an L1 match"),
    /**
     * DELLA's magnitude ranking of a one-element row divides 0 by 0; mergekit then fails with a torch error
     * ("Expected p_in >= 0 && p_in <= 1"). Corrected, such a row keeps its element with probability {@code density}.
     */
    DELLA_SINGLE_ELEMENT_ROWS("della-single-element-rows",
            "DELLA: one-element rows kept with p = density (mergekit fails)"),
    /**
     * model_stock divides the dot product of two task vectors by {@code max(‖a‖·‖b‖, 1e-6)}: for small task vectors
     * (a row of a bias or norm with filter_wise, a barely fine-tuned tensor) the clamp shrinks the cosine towards 0
     * and the merge towards the base. Corrected, the cosine is {@code a·b / (‖a‖·‖b‖)} whenever the product is not 0.
     */
    MODEL_STOCK_SMALL_NORMS("model-stock-small-norms",
            "model_stock: exact cosine of small task vectors (no 1e-6 clamp)");

    private final String cliName;
    private final String description;

    Correction(String cliName, String description) {
        this.cliName = cliName;
        this.description = description;
    }

    /** The name {@code --correct} takes. */
    public String cliName() { return cliName; }

    public String description() { return description; }

    public static Correction byName(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Correction c : values()) {
            if (c.cliName.equals(n)) return c;
        }
        StringBuilder known = new StringBuilder();
        for (Correction c : values()) known.append(known.length() > 0 ? ", " : "").append(c.cliName);
        throw new IllegalArgumentException("unknown correction '" + name + "' (known: " + known + ")");
    }

    /** Parses a comma-separated list: "rescale-by-probability,model-stock-small-norms". */
    public static Set<Correction> parseList(String list) {
        Set<Correction> out = EnumSet.noneOf(Correction.class);
        for (String part : list.split(",")) {
            if (!part.isBlank()) out.add(byName(part));
        }
        return out;
    }
}
