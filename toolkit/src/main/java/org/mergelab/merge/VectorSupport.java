package org.mergelab.merge;

/**
 * Whether the merge kernels use the JDK's Vector API ({@link VectorLanes}, {@link DareLanes}): the JVM has the
 * incubator module ({@code --add-modules jdk.incubator.vector}, as bin/mergelab and the notebook kernel start it), it
 * is not turned off with {@code -Dmergelab.vector=false}, and the kernels give the scalar loops' bits. This class
 * names no vector type, so asking costs nothing and cannot fail on a JVM without the module (a plain
 * {@code java -cp}, IJava): there the kernel classes are never loaded and the scalar loops run.
 */
final class VectorSupport {
    static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("mergelab.vector", "true"))
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() && VectorLanes.Check.works();

    private VectorSupport() {}
}
