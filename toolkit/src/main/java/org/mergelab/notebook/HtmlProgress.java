package org.mergelab.notebook;

import java.util.Locale;
import java.util.UUID;
import org.mergelab.merge.MergeOptions;

/**
 * A merge's progress as an HTML progress bar in a notebook cell: tensors done, bytes read, rate and time left,
 * updated in place at most five times a second and once more when the merge ends.
 */
public final class HtmlProgress implements MergeOptions.Progress {
    private static final long MIN_INTERVAL_NANOS = 200_000_000L;

    private final Display display;
    private final String label;
    private final String id = "mergelab-progress-" + UUID.randomUUID();
    private final long start = System.nanoTime();
    private boolean shown;
    private long lastUpdate;

    public HtmlProgress(Display display, String label) {
        this.display = display;
        this.label = label;
    }

    @Override
    public synchronized void update(int done, int total, long bytesDone, long bytesTotal) {
        long now = System.nanoTime();
        if (shown && done < total && now - lastUpdate < MIN_INTERVAL_NANOS) return;
        lastUpdate = now;
        String html = html(done, total, bytesDone, bytesTotal, (now - start) / 1e9);
        if (shown) {
            display.update(id, html);
        } else {
            display.show(id, html);
            shown = true;
        }
    }

    String html(int done, int total, long bytesDone, long bytesTotal, double seconds) {
        double frac = bytesTotal > 0 ? (double) bytesDone / bytesTotal : (double) done / Math.max(1, total);
        double rate = seconds > 0 ? bytesDone / seconds : 0;
        String tail = done == total
                ? String.format(Locale.ROOT, "done in %.1f s", seconds)
                : String.format(Locale.ROOT, "%.0f s left", frac > 0 ? seconds * (1 - frac) / frac : 0);
        return String.format(Locale.ROOT, "<div style=\"font-family:monospace\">%s <progress value=\"%d\" max=\"%d\""
                        + " style=\"width:40%%\"></progress> %d/%d tensors, %.1f/%.1f MB, %.1f MB/s, %s</div>",
                Html.escape(label), done, total, done, total, bytesDone / 1e6, bytesTotal / 1e6, rate / 1e6, tail);
    }
}
