package org.mergelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.mergelab.hub.SharedData;
import org.mergelab.io.Json;

/**
 * Installs the "mergelab" Jupyter kernelspec (JJava with the toolkit jar on its classpath) and opens Jupyter on the
 * notebooks. The kernelspec starts the JJava kernel that {@code pip install jjava} installed, so notebooks need no
 * kernel magics; IJava users point IJAVA_CLASSPATH at the same jar (the kernelspec sets both variables).
 */
final class NotebookCommand implements Main.Command {
    static final String KERNEL = "mergelab";

    @Override
    public String usage() {
        return "notebook [--install-only] [--jupyter-path DIR] [NOTEBOOK_DIR]";
    }

    @Override
    public String summary() {
        return "Install the 'mergelab' Jupyter kernel (JJava with the toolkit on its classpath) for this user and open\n"
                + "Jupyter on NOTEBOOK_DIR (default: notebooks/ of the checkout). Needs `pip install jjava jupyterlab`.\n\n"
                + "  --install-only     write the kernelspec and stop\n"
                + "  --jupyter-path DIR write the kernelspec under DIR/kernels instead of the user's Jupyter data folder";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("install-only"), Set.of("jupyter-path"));
        a.expectPositionals(1);
        Path jar = toolkitJar();
        Path kernelDir = a.option("jupyter-path") != null
                ? Path.of(a.option("jupyter-path")).resolve("kernels").resolve(KERNEL)
                : Path.of(run(List.of("jupyter", "--data-dir")).strip()).resolve("kernels").resolve(KERNEL);
        Path jjava = findJJava();
        writeKernelSpec(kernelDir, jjava, jar);
        out.println("installed kernel '" + KERNEL + "' in " + kernelDir + " (JJava from " + jjava + ", toolkit " + jar + ")");
        if (a.flag("install-only")) return 0;
        Path nbDir = a.positionals().isEmpty() ? defaultNotebookDir() : Path.of(a.positional(0, "NOTEBOOK_DIR"));
        out.println("starting Jupyter in " + nbDir);
        List<String> cmd = new ArrayList<>(List.of("jupyter", hasLab() ? "lab" : "notebook"));
        Process p = new ProcessBuilder(cmd).directory(nbDir.toFile()).inheritIO().start();
        return p.waitFor();
    }

    static void writeKernelSpec(Path kernelDir, Path jjavaDir, Path toolkitJar) throws IOException {
        Files.createDirectories(kernelDir);
        ObjectNode spec = Json.object();
        ArrayNode argv = spec.putArray("argv");
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.add("-jar").add(jjavaDir.resolve("jjava-launcher.jar").toString());
        argv.add(jjavaDir.resolve("jjava.jar").toString()).add("{connection_file}");
        spec.put("display_name", "Java (MergeLab)");
        spec.put("language", "java");
        spec.put("interrupt_mode", "message");
        ObjectNode env = spec.putObject("env");
        env.put("JJAVA_CLASSPATH", toolkitJar.toString());
        // JJava's launcher starts the kernel in a second JVM; these are that JVM's options.
        env.put("JJAVA_JVM_OPTS", "-Djava.awt.headless=true --add-modules jdk.incubator.vector");
        env.put("IJAVA_CLASSPATH", toolkitJar.toString());
        SharedData.find().ifPresent(d -> env.put("MERGELAB_DATA", d.toString()));
        Json.write(kernelDir.resolve("kernel.json"), spec);
    }

    /** The folder of JJava's own kernelspec (holding jjava.jar and jjava-launcher.jar). */
    static Path findJJava() throws IOException {
        JsonNode specs = Json.MAPPER.readTree(run(List.of("jupyter", "kernelspec", "list", "--json")));
        for (JsonNode k : specs.path("kernelspecs")) {
            Path dir = Path.of(k.path("resource_dir").asText());
            if (Files.isRegularFile(dir.resolve("jjava.jar")) && Files.isRegularFile(dir.resolve("jjava-launcher.jar"))) {
                return dir;
            }
        }
        throw new IOException("no JJava kernel found: install it with `pip install jjava` (and Jupyter with"
                + " `pip install jupyterlab`), then run this again");
    }

    static Path toolkitJar() throws IOException {
        try {
            Path p = Path.of(NotebookCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(p) && p.toString().endsWith(".jar")) return p;
        } catch (Exception ignored) {
            // fall through to the message below
        }
        throw new IOException("run this from the toolkit jar (bin/mergelab notebook), not from classes");
    }

    private static Path defaultNotebookDir() {
        String home = System.getProperty("mergelab.home");
        Path p = home != null ? Path.of(home, "notebooks") : Path.of("notebooks");
        return Files.isDirectory(p) ? p : Path.of("");
    }

    private static boolean hasLab() {
        try {
            run(List.of("jupyter", "lab", "--version"));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String run(List<String> cmd) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        } catch (IOException e) {
            throw new IOException("cannot run '" + String.join(" ", cmd) + "': is Jupyter installed"
                    + " (pip install jupyterlab jjava)?", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) throw new IOException("'" + String.join(" ", cmd) + "' failed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return out;
    }
}
