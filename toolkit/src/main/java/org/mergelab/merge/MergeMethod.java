package org.mergelab.merge;

import java.util.List;
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

    /** Merges one tensor. May return one of the inputs' arrays when the result is exactly that input. */
    float[] merge(TensorInputs in);

    /** Whether the method wants a base model, and how many inputs (the base included) it takes. */
    record Contract(BasePolicy base, int minInputs, int maxInputs) {
        public static Contract any() {
            return new Contract(BasePolicy.IGNORED, 1, Integer.MAX_VALUE);
        }
    }

    enum BasePolicy {
        /** The base model, if set, is one more ordinary input. */
        IGNORED,
        /** A base model is needed and must be one of the inputs. */
        REQUIRED,
        OPTIONAL
    }

    enum OptionalPolicy {
        /** Merge whichever inputs have the tensor. */
        MERGE_PRESENT,
        /** If only one input has it, copy that input unchanged. */
        PASSTHROUGH_SINGLETON
    }
}
