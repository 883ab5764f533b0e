package org.mergelab.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The Hugging Face Hub cache, laid out exactly as Python's huggingface_hub lays it out, so each side reuses what the
 * other downloaded:
 * <pre>
 * ROOT/models--ORG--NAME/
 *   refs/REVISION              the commit a branch or tag pointed to when last resolved
 *   blobs/ETAG                 file contents, named by the Hub's ETag (sha256 for LFS files, git sha1 otherwise)
 *   blobs/ETAG.incomplete      a download in progress (resumed from its length)
 *   snapshots/COMMIT/FILE      relative symlinks to ../../blobs/ETAG
 * ROOT/.locks/models--ORG--NAME/ETAG.lock   held while a blob downloads
 * </pre>
 * ROOT is {@code $HF_HUB_CACHE}, else {@code $HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}, else
 * {@code $XDG_CACHE_HOME/huggingface/hub}, else {@code ~/.cache/huggingface/hub}: huggingface_hub's order. Blobs
 * appear only complete and verified; a snapshot entry appears only once its blob does.
 */
public final class HfCache {
    static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private final Path root;

    public HfCache(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** The cache huggingface_hub would use with this environment. */
    public static HfCache fromEnvironment(Map<String, String> env) {
        String explicit = first(env, "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE");
        if (explicit != null) return new HfCache(Path.of(expandHome(explicit)));
        return new HfCache(hfHome(env).resolve("hub"));
    }

    public static HfCache fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    /** {@code $HF_HOME}, else {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface}. */
    static Path hfHome(Map<String, String> env) {
        String home = first(env, "HF_HOME");
        if (home != null) return Path.of(expandHome(home));
        String xdg = first(env, "XDG_CACHE_HOME");
        Path base = xdg != null ? Path.of(expandHome(xdg)) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("huggingface");
    }

    static String first(Map<String, String> env, String... names) {
        for (String n : names) {
            String v = env.get(n);
            if (v != null && !v.isBlank()) return v;
        }
        return null;
    }

    private static String expandHome(String p) {
        return p.startsWith("~/") ? System.getProperty("user.home") + p.substring(1) : p;
    }

    public Path root() { return root; }

    /** {@code models--ORG--NAME}: the repository's folder. */
    public Path repoDir(String repoId) {
        return root.resolve("models--" + repoId.replace("/", "--"));
    }

    public Path snapshotDir(String repoId, String commit) {
        return repoDir(repoId).resolve("snapshots").resolve(commit);
    }

    public Path blob(String repoId, String etag) {
        return repoDir(repoId).resolve("blobs").resolve(etag);
    }

    public Path incomplete(String repoId, String etag) {
        return repoDir(repoId).resolve("blobs").resolve(etag + ".incomplete");
    }

    /** {@code ROOT/.locks/models--ORG--NAME/ETAG.lock}, where huggingface_hub keeps its download locks too. */
    public Path lockFile(String repoId, String etag) {
        return root.resolve(".locks").resolve(repoDir(repoId).getFileName()).resolve(etag + ".lock");
    }

    /** The commit {@code revision} names: itself if it is a commit hash, else what refs/REVISION recorded. */
    public Optional<String> commitOf(String repoId, String revision) {
        if (COMMIT.matcher(revision).matches()) return Optional.of(revision);
        Path ref = repoDir(repoId).resolve("refs").resolve(revision);
        try {
            if (!Files.isRegularFile(ref)) return Optional.empty();
            String commit = Files.readString(ref).trim();
            return COMMIT.matcher(commit).matches() ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** A file of a snapshot, if it is there (and its symlink resolves to a blob). */
    public Optional<Path> cachedFile(String repoId, String commit, String file) {
        Path p = snapshotDir(repoId, commit).resolve(file);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** Records that {@code revision} (a branch or tag) points to {@code commit}; written atomically, as Python does. */
    public void writeRef(String repoId, String revision, String commit) {
        if (revision.equals(commit)) return;
        Path ref = repoDir(repoId).resolve("refs").resolve(revision);
        try {
            if (Files.isRegularFile(ref) && Files.readString(ref).equals(commit)) return;
            Files.createDirectories(ref.getParent());
            Path tmp = ref.resolveSibling(ref.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
            Files.writeString(tmp, commit);
            move(tmp, ref);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + ref + ": " + e.getMessage(), e);
        }
    }

    /**
     * Links snapshots/COMMIT/FILE to its blob with a relative symlink ({@code ../../blobs/ETAG}, one more
     * {@code ..} per folder in FILE), as huggingface_hub does; copies the blob where symlinks are not allowed.
     */
    public Path link(String repoId, String commit, String file, String etag) throws IOException {
        Path pointer = snapshotDir(repoId, commit).resolve(file);
        Path blob = blob(repoId, etag);
        Files.createDirectories(pointer.getParent());
        Path relative = pointer.getParent().relativize(blob);
        Files.deleteIfExists(pointer);
        try {
            Files.createSymbolicLink(pointer, relative);
        } catch (FileAlreadyExistsException e) {
            // another process linked it between the delete and the link: fine if it points to the same blob
            if (!Files.isSameFile(pointer, blob)) throw e;
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
        }
        return pointer;
    }

    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public String toString() {
        return "HfCache[" + root + "]";
    }
}
