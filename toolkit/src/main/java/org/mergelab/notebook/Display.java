package org.mergelab.notebook;

/** A notebook's output area, as far as MergeLab uses it: show HTML, then replace it in place. */
public interface Display {
    /** Shows {@code html} under {@code displayId}, a new output. */
    void show(String displayId, String html);

    /** Replaces what was shown under {@code displayId}. */
    void update(String displayId, String html);
}
