package org.mergelab.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Samples a process's resident memory from /proc/PID/status while it runs: the peak of RssAnon (private memory:
 * what the process really needs) and, at the same moments, RssFile (file-backed pages, such as memory-mapped inputs,
 * which count in RSS but are reclaimable page cache). VmHWM gives the peak total as the kernel saw it.
 */
public final class ProcessMemory implements AutoCloseable {
    public record Peak(long rssAnonKb, long rssFileKb, long vmHwmKb) {
        public String describe() {
            return String.format("peak RssAnon %.1f MB, RssFile then %.1f MB, VmHWM %.1f MB", rssAnonKb / 1024.0,
                    rssFileKb / 1024.0, vmHwmKb / 1024.0);
        }
    }

    private final Path status;
    private final Thread sampler;
    private volatile boolean running = true;
    private long peakAnon, fileAtPeak, hwm;

    private ProcessMemory(long pid, int periodMillis) {
        this.status = Path.of("/proc", Long.toString(pid), "status");
        this.sampler = new Thread(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    /** Starts sampling process {@code pid} every {@code periodMillis} ms. */
    public static ProcessMemory watch(long pid, int periodMillis) {
        return new ProcessMemory(pid, periodMillis);
    }

    /** Starts sampling this JVM. */
    public static ProcessMemory self(int periodMillis) {
        return watch(ProcessHandle.current().pid(), periodMillis);
    }

    private synchronized void sample() {
        try {
            long anon = -1, file = -1, vmHwm = -1;
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("RssAnon:")) anon = kb(line);
                else if (line.startsWith("RssFile:")) file = kb(line);
                else if (line.startsWith("VmHWM:")) vmHwm = kb(line);
            }
            if (anon > peakAnon) {
                peakAnon = anon;
                fileAtPeak = file;
            }
            hwm = Math.max(hwm, vmHwm);
        } catch (IOException e) {
            running = false; // the process has exited
        }
    }

    private static long kb(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    public synchronized Peak peak() {
        sample();
        return new Peak(peakAnon, fileAtPeak, hwm);
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }
}
