package org.mergelab.merge;

import java.io.IOException;

/**
 * A method that can merge a tensor chunk by chunk (re-reading its inputs for each pass it needs), so that peak
 * memory is a few chunks whatever the tensor's size. Its chunked result must equal its in-memory one; the engine
 * streams only tensors larger than a threshold, where holding every input whole would cost too much.
 */
public interface StreamingMerge {
    /** Whether this tensor, with the parameters it resolved to, can be merged in chunks. */
    default boolean streams(TensorInputs meta) {
        return true;
    }

    /**
     * Whether this method streams faster than it merges whole, so tensors of a few blocks are worth streaming too:
     * DARE's streamed loops run eight lanes at a time where its whole-tensor path is scalar.
     */
    default boolean prefersStreaming() {
        return false;
    }

    void stream(TensorStream in, TensorStream.Output out) throws IOException;
}
