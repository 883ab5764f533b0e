package org.mergelab.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Samples a process's resident memory from /proc/PID/status while it runs: the peak of RssAnon (private memory:
 * what the process really needs) and, at the same moments, RssFile (file-backed pages, such as memory-mapped inputs,
 * which count in RSS but are reclaimable page cache). VmHWM gives the peak total as the kernel saw it. A launcher
 * script's children count with it: the figures are summed over the process and its descendants at each sample.
 */
public final class ProcessMemory implements AutoCloseable {
    public record Peak(long rssAnonKb, long rssFileKb, long vmHwmKb) {
        public String describe() {
            return String.format("peak RssAnon %.1f MB, RssFile then %.1f MB, VmHWM %.1f MB", rssAnonKb / 1024.0,
                    rssFileKb / 1024.0, vmHwmKb / 1024.0);
        }
    }

    private final long pid;
    private final Thread sampler;
    private volatile boolean running = true;
    private long peakAnon, fileAtPeak, hwm;

    private ProcessMemory(long pid, int periodMillis) {
        this.pid = pid;
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
        java.util.Optional<ProcessHandle> root = ProcessHandle.of(pid);
        if (root.isEmpty()) {
            running = false; // the process has exited
            return;
        }
        long anon = 0, file = 0, vmHwm = 0;
        for (ProcessHandle h : (Iterable<ProcessHandle>) java.util.stream.Stream.concat(java.util.stream.Stream.of(
                root.get()), root.get().descendants())::iterator) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(h.pid()), "status"))) {
                    if (line.startsWith("RssAnon:")) anon += kb(line);
                    else if (line.startsWith("RssFile:")) file += kb(line);
                    else if (line.startsWith("VmHWM:")) vmHwm += kb(line);
                }
            } catch (IOException e) {
                // that process has just exited
            }
        }
        if (anon > peakAnon) {
            peakAnon = anon;
            fileAtPeak = file;
        }
        hwm = Math.max(hwm, vmHwm);
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
