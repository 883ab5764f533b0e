package org.mergelab.cli;

import java.io.PrintStream;
import org.mergelab.hub.DownloadProgress;
import org.mergelab.merge.MergeOptions;

/**
 * A one-line progress bar on stderr: tensors (for a merge) or the file being fetched (for a download), bytes, rate
 * and time left. Redraws at most ten times a second.
 */
final class ProgressBar implements MergeOptions.Progress, DownloadProgress {
    private final PrintStream err;
    private final String label;
    private final long start = System.nanoTime();
    private long lastDraw;

    ProgressBar(PrintStream err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public synchronized void update(int done, int total, long bytesDone, long bytesTotal) {
        long now = System.nanoTime();
        if (done < total && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        double secs = (now - start) / 1e9;
        double frac = bytesTotal > 0 ? (double) bytesDone / bytesTotal : (double) done / Math.max(1, total);
        int width = 30, filled = (int) Math.round(frac * width);
        double rate = secs > 0 ? bytesDone / secs : 0;
        double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
        err.printf("\r%s [%s%s] %d/%d tensors  %s/%s  %s/s  %s left ", label, "#".repeat(filled),
                ".".repeat(width - filled), done, total, bytes(bytesDone), bytes(bytesTotal), bytes((long) rate),
                time(eta));
        if (done == total) err.println();
        err.flush();
    }

    private long startBytes = -1;
    private boolean finished;

    @Override
    public synchronized void update(String file, long fileDone, long fileTotal, long allDone, long allTotal) {
        long now = System.nanoTime();
        if (finished) return;
        finished = allDone >= allTotal;
        if (!finished && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        // Bytes already on disk when the bar starts (cached files, a resumed part) do not count towards the rate.
        if (startBytes < 0) startBytes = allDone;
        double secs = (now - start) / 1e9;
        double frac = allTotal > 0 ? (double) allDone / allTotal : 1;
        int width = 30, filled = (int) Math.round(frac * width);
        double rate = secs > 0 ? Math.max(0, allDone - startBytes) / secs : 0;
        double eta = rate > 0 ? (allTotal - allDone) / rate : 0;
        String name = file.length() > 32 ? "..." + file.substring(file.length() - 29) : file;
        err.printf("\r%s [%s%s] %-32s %s/%s  %s/s  %s left ", label, "#".repeat(filled), ".".repeat(width - filled),
                name, bytes(allDone), bytes(allTotal), bytes((long) rate), time(eta));
        if (finished) err.println();
        err.flush();
    }

    static String bytes(long b) {
        if (b >= 1e9) return String.format("%.2f GB", b / 1e9);
        if (b >= 1e6) return String.format("%.1f MB", b / 1e6);
        if (b >= 1e3) return String.format("%.0f kB", b / 1e3);
        return b + " B";
    }

    static String time(double s) {
        if (s >= 3600) return String.format("%dh%02dm", (int) (s / 3600), (int) (s % 3600) / 60);
        if (s >= 60) return String.format("%dm%02ds", (int) (s / 60), (int) (s % 60));
        return String.format("%.0fs", s);
    }
}
