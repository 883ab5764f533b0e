package org.mergelab.model.tokenizer;

/** A tokenizer file that cannot be read or uses a feature not implemented; the message names the file. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
