package org.mergelab.bench;

import java.io.File;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Jlama (com.github.tjake:jlama-core, Maven Central) as the inference baseline, driven by reflection from its own
 * class loader: its classes are Java 20 and use the incubating Vector API, so the bench (Java 17) never compiles
 * against them. The same operations as ours are
 * timed: a batched forward of the prompt to the last position's logits, then one forward per greedy token.
 */
final class JlamaBaseline implements AutoCloseable {
    private final Object model;
    private final Class<?> kvBufferClass;
    private final Object cache;
    private final Method batchForward, forward, getLogits, slice, getKvBuffer, closeKv;

    private JlamaBaseline(Object model, ClassLoader loader) throws Exception {
        this.model = model;
        Class<?> abstractModel = Class.forName("com.github.tjake.jlama.model.AbstractModel", true, loader);
        Class<?> cacheClass = Class.forName("com.github.tjake.jlama.tensor.KvBufferCache", true, loader);
        kvBufferClass = Class.forName("com.github.tjake.jlama.tensor.KvBufferCache$KvBuffer", true, loader);
        Class<?> tensor = Class.forName("com.github.tjake.jlama.tensor.AbstractTensor", true, loader);
        cache = cacheClass.getConstructor(abstractModel).newInstance(model);
        getKvBuffer = cacheClass.getMethod("getKvBuffer", UUID.class);
        batchForward = abstractModel.getMethod("batchForward", int[].class, int.class, kvBufferClass);
        forward = abstractModel.getMethod("forward", int.class, int.class, kvBufferClass, Optional.class);
        getLogits = abstractModel.getMethod("getLogits", tensor);
        slice = tensor.getMethod("slice", int[].class);
        closeKv = kvBufferClass.getMethod("close");
    }

    /** Why Jlama cannot run in this JVM, or empty when it can. */
    static Optional<String> unavailable(Path lib) {
        if (Runtime.version().feature() < 20) {
            return Optional.of("Jlama 0.8.4's classes are Java 20 (class file version 64) and this JVM is Java "
                    + Runtime.version() + "; run the bench on a JDK 21+ (PATH=$JDK/bin:$PATH) with MERGELAB_JAVA_OPTS=\"--add-modules "
                    + "jdk.incubator.vector\"");
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return Optional.of("Jlama needs the incubating Vector API: start the JVM with --add-modules "
                    + "jdk.incubator.vector");
        }
        if (!Files.isDirectory(lib)) {
            return Optional.of(lib + " is missing: build the bench with `mvn -Pbench package` (it copies Jlama there)");
        }
        return Optional.empty();
    }

    /** Loads a Hugging Face folder with Jlama, weights and working memory in float32. */
    static JlamaBaseline load(Path lib, Path modelDir) throws Exception {
        List<URL> jars = new ArrayList<>();
        try (Stream<Path> s = Files.list(lib)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) jars.add(p.toUri().toURL());
        }
        // Parent: the bench's own class path, for the dependencies Jlama shares with the toolkit (Jackson, Guava,
        // SLF4J), which Maven resolves there and so does not copy into jlama-lib.
        ClassLoader loader = new URLClassLoader(jars.toArray(URL[]::new), JlamaBaseline.class.getClassLoader());
        Class<?> support = Class.forName("com.github.tjake.jlama.model.ModelSupport", true, loader);
        @SuppressWarnings({"unchecked", "rawtypes"})
        Class<Enum> dtype = (Class<Enum>) Class.forName("com.github.tjake.jlama.safetensors.DType", true, loader);
        @SuppressWarnings("unchecked")
        Object f32 = Enum.valueOf(dtype, "F32");
        // Jlama's template engine (Jinjava) loads classes through the thread's context class loader.
        Thread.currentThread().setContextClassLoader(loader);
        Object model = support.getMethod("loadModel", File.class, dtype, dtype).invoke(null, modelDir.toFile(), f32, f32);
        return new JlamaBaseline(model, loader);
    }

    /** A fresh key/value buffer (one sequence). */
    Object newSequence() throws Exception {
        return getKvBuffer.invoke(cache, UUID.randomUUID());
    }

    void endSequence(Object kv) throws Exception {
        closeKv.invoke(kv);
    }

    /** The prompt in one batched forward; the last position's output distribution over the vocabulary. */
    float[] prefill(Object kv, int[] prompt) throws Exception {
        Object out = batchForward.invoke(model, prompt, 0, kv);
        return (float[]) getLogits.invoke(model, slice.invoke(out, (Object) new int[] {prompt.length - 1}));
    }

    float[] step(Object kv, int token, int position) throws Exception {
        return (float[]) getLogits.invoke(model, forward.invoke(model, token, position, kv, Optional.empty()));
    }

    @Override
    public void close() throws Exception {
        if (model instanceof AutoCloseable c) c.close();
    }
}
