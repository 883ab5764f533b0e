package org.mergelab.io;

/** A checkpoint that cannot be read as it claims to be: the message names the file and, where known, the tensor. */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
