package org.mergelab.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Executes every notebook headless with the JJava kernel (notebooks/check_notebooks.py, through nbclient) against the
 * toolkit jar this build produced: a cell that errors, or a chart that does not show, fails the build.
 *
 * Needs a Python with {@code jjava} and {@code nbclient} ({@code $MERGELAB_PYTHON}, default python3). Where that is
 * missing the test is skipped, unless {@code MERGELAB_REQUIRE_NOTEBOOKS=1} (set by .ci/run), which makes it fail.
 */
class NotebooksIT {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void everyNotebookRunsAndShowsItsCharts() throws Exception {
        String python = System.getenv().getOrDefault("MERGELAB_PYTHON", "python3");
        boolean required = "1".equals(System.getenv("MERGELAB_REQUIRE_NOTEBOOKS"));
        boolean available = run(List.of(python, "-c", "import nbclient, nbformat, jupyter_client"), 60).exit() == 0
                && run(List.of(new File(python).getParent() == null ? "jupyter" : new File(new File(python).getParent(),
                "jupyter").getPath(), "kernelspec", "list"), 60).output().contains("java");
        if (required) {
            assertTrue(available, python + " lacks nbclient or the JJava kernel: pip install jjava nbclient");
        } else {
            assumeTrue(available, "skipped: no Python with nbclient and JJava (pip install jjava nbclient)");
        }
        Path jar;
        try (Stream<Path> s = Files.list(ROOT.resolve("toolkit/target"))) {
            jar = s.filter(p -> p.getFileName().toString().endsWith("-all.jar")).findFirst().orElseThrow(
                    () -> new AssertionError("no toolkit/target/*-all.jar: run the package phase first"));
        }
        Result r = run(List.of(python, ROOT.resolve("notebooks/check_notebooks.py").toString(), "--jar", jar.toString()),
                1800);
        System.out.println(r.output());
        assertEquals(0, r.exit(), "notebook check failed:\n" + r.output());
        assertTrue(r.output().contains("01-first-merge.ipynb"), r.output());
    }

    private record Result(int exit, String output) {}

    private static Result run(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out after " + timeoutSeconds + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
