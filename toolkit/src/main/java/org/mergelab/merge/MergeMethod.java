package org.mergelab.merge;

import java.util.List;
import java.util.Map;
import org.mergelab.io.DType;
import org.mergelab.recipe.ParamSpec;

/**
 * One merge method: its parameters, what inputs it accepts, and the arithmetic for one tensor. Methods see float32
 * data already rounded to the recipe's working dtype; reading, planning, rounding the result and writing are the
 * engine's job, so a method reads like its formula.
 */
public interface MergeMethod {
    /** The name recipes use in {@code merge_method}. */
    String name();

    /** The name model cards print ("SLERP"). */
    String prettyName();

    /** Where the method is described (a paper, or Wikipedia for SLERP). */
    String reference();

    List<ParamSpec> parameters();

    Contract contract();

    /** What to do with an optional tensor (a bias, a separate LM head) that only some inputs have. */
    default OptionalPolicy optionalPolicy() {
        return OptionalPolicy.MERGE_PRESENT;
    }

    /**
     * The dtype of the method's result for inputs in {@code work}: the working dtype, except for the two methods
     * whose float32 intermediates promote mergekit's result (arcee_fusion, ramplus_tl). Saved in it unless the
     * recipe sets {@code out_dtype}.
     */
    default DType resultDtype(DType work) {
        return work;
    }

    /** Whether the method draws random numbers (so a merge depends on its random seed). */
    default boolean random() {
        return false;
    }

    /**
     * Checks the parameter values resolved for one tensor; returns what is wrong or suspicious. The planner reports
     * fatal problems as errors naming the recipe line of the parameter, the others as warnings, before any tensor
     * is read.
     */
    default List<Problem> check(Resolved parameters) {
        return List.of();
    }

    /** Merges one tensor. May return one of the inputs' arrays when the result is exactly that input. */
    float[] merge(TensorInputs in);

    /**
     * Whether the method wants a base model, and how many inputs it takes: {@code minInputs..maxInputs} counting
     * the base, {@code minNonBase..maxNonBase} not counting it.
     */
    record Contract(BasePolicy base, int minInputs, int maxInputs, int minNonBase, int maxNonBase) {
        public Contract(BasePolicy base, int minInputs, int maxInputs) {
            this(base, minInputs, maxInputs, 0, Integer.MAX_VALUE);
        }

        public static Contract any() {
            return new Contract(BasePolicy.IGNORED, 1, Integer.MAX_VALUE);
        }
    }

    enum BasePolicy {
        /** The base model, if set, is one more ordinary input. */
        IGNORED,
        /** A base model is needed and must be one of the inputs. */
        REQUIRED,
        /** The method works with or without a base; if set, it must be one of the inputs. */
        OPTIONAL
    }

    enum OptionalPolicy {
        /** Merge whichever inputs have the tensor (it is an error if those break the contract). */
        MERGE_PRESENT,
        /** If only one input has it, copy that input unchanged. */
        PASSTHROUGH_SINGLETON,
        /** If only the base has it, copy the base unchanged. */
        PASSTHROUGH_BASE_SINGLETON,
        /** If too few inputs have it: copy the base if only the base has it, else leave the tensor out. */
        BASE_OR_SKIP
    }

    /** The parameter values resolved for one tensor, as {@link #check} sees them. */
    record Resolved(String tensor, Map<String, Object> shared, List<String> models,
                    List<Map<String, Object>> perModel, int baseIndex) {}

    /**
     * A problem with a parameter value.
     *
     * @param input the input (model position) whose value it is, or -1 for a shared parameter
     */
    record Problem(boolean fatal, String parameter, int input, String message) {
        public static Problem error(String parameter, int input, String message) {
            return new Problem(true, parameter, input, message);
        }

        public static Problem warning(String parameter, int input, String message) {
            return new Problem(false, parameter, input, message);
        }
    }
}
