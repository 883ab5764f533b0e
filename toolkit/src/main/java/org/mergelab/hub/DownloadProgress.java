package org.mergelab.hub;

import java.io.PrintStream;

/** What a download reports as it goes: the file being fetched and the bytes done, for it and for the whole model. */
public interface DownloadProgress {
    /**
     * @param file      the repository file being fetched
     * @param fileDone  its bytes on disk so far (including a resumed part)
     * @param fileTotal its size
     * @param allDone   bytes of every file to fetch, done so far
     * @param allTotal  bytes of every file to fetch
     */
    void update(String file, long fileDone, long fileTotal, long allDone, long allTotal);

    /** Reports nothing. */
    DownloadProgress NONE = (file, fileDone, fileTotal, allDone, allTotal) -> { };

    /** One line per file as it starts, on {@code out}: for downloads that happen while planning a merge. */
    static DownloadProgress lines(PrintStream out) {
        return new DownloadProgress() {
            private String current;

            @Override
            public synchronized void update(String file, long fileDone, long fileTotal, long allDone, long allTotal) {
                if (!file.equals(current)) {
                    current = file;
                    out.printf("downloading %s (%.1f MB)%n", file, fileTotal / 1e6);
                }
            }
        };
    }
}
