package org.mergelab.hub;

/** A model that cannot be found, fetched or trusted: the message names the repository, revision and file. */
public class HubException extends RuntimeException {
    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
