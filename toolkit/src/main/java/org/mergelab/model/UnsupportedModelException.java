package org.mergelab.model;

/** A model folder the forward pass cannot run: unknown architecture, missing or inconsistent config or tensors. */
public final class UnsupportedModelException extends RuntimeException {
    public UnsupportedModelException(String message) {
        super(message);
    }
}
