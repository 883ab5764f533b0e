package org.mergelab.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Flow;
import java.util.regex.Pattern;
import org.mergelab.Version;

/**
 * Models from the Hugging Face Hub, found and downloaded the way Python's huggingface_hub does it, into the same
 * cache ({@link HfCache}): a repository's listing from {@code /api/models/REPO/revision/REV?blobs=true} (commit,
 * files, sizes, git and LFS hashes), then per missing file a HEAD on {@code /REPO/resolve/COMMIT/FILE} for its ETag
 * and location (LFS files redirect to a CDN) and a GET of that location into {@code blobs/ETAG.incomplete}, resumed
 * with a Range request if a previous attempt was cut off. Every file is checked before it enters the cache: LFS
 * files against the sha256 the Hub lists, others against their git blob hash; a mismatch deletes the download.
 * Settings come from the environment as in huggingface_hub: {@code HF_ENDPOINT}, {@code HF_TOKEN} (or the token
 * file), {@code HF_HUB_OFFLINE=1} (only the cache, no network), {@code HF_HUB_CACHE} / {@code HF_HOME}.
 */
public final class Hub {
    /** Where to download from, with which token, whether the network may be used, and which cache to fill. */
    public record Settings(URI endpoint, String token, boolean offline, HfCache cache) {
        public static Settings fromEnvironment(Map<String, String> env) {
            String endpoint = HfCache.first(env, "HF_ENDPOINT");
            String token = HfCache.first(env, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN");
            if (token == null) {
                String tokenPath = HfCache.first(env, "HF_TOKEN_PATH");
                Path file = tokenPath != null ? Path.of(tokenPath) : HfCache.hfHome(env).resolve("token");
                try {
                    if (Files.isRegularFile(file)) token = Files.readString(file).trim();
                } catch (IOException ignored) {
                    // an unreadable token file is the same as none
                }
                if (token != null && token.isEmpty()) token = null;
            }
            boolean offline = truthy(env.get("HF_HUB_OFFLINE")) || truthy(env.get("TRANSFORMERS_OFFLINE"));
            return new Settings(URI.create(endpoint != null ? endpoint.replaceAll("/+$", "") : "https://huggingface.co"),
                    token, offline, HfCache.fromEnvironment(env));
        }

        private static boolean truthy(String v) {
            return v != null && Set.of("1", "on", "yes", "true").contains(v.trim().toLowerCase(Locale.ROOT));
        }
    }

    /** One file of a repository as the Hub lists it. */
    record RepoFile(String path, long size, String blobId, String lfsSha256) {
        boolean lfs() { return lfsSha256 != null; }
    }

    record Listing(String commit, Map<String, RepoFile> files) {}

    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}");
    private static final Pattern ETAG = Pattern.compile("[A-Za-z0-9_.-]{1,200}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ATTEMPTS = 5;

    static {
        // The JDK client reads responses in 16 KB buffers by default; 256 KB ones download about 1.5x faster. Read
        // once, when the first client is built, and only if nobody chose a size.
        if (System.getProperty("jdk.httpclient.bufsize") == null) System.setProperty("jdk.httpclient.bufsize", "262144");
    }

    private final Settings settings;
    /** Built on the first request: its TLS set-up costs a sixth of a second that a merge of local folders never needs. */
    private HttpClient http;
    private final PrintStream log;

    public Hub(Settings settings) {
        this(settings, System.err);
    }

    Hub(Settings settings, PrintStream log) {
        this.settings = settings;
        this.log = log;
    }

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                    .connectTimeout(Duration.ofSeconds(20))
                    .version("http".equals(settings.endpoint().getScheme()) ? HttpClient.Version.HTTP_1_1
                            : HttpClient.Version.HTTP_2)
                    .build();
        }
        return http;
    }

    public static Hub fromEnvironment() {
        return new Hub(Settings.fromEnvironment(System.getenv()));
    }

    public Settings settings() { return settings; }

    public HfCache cache() { return settings.cache(); }

    /** Whether {@code s} is shaped like a Hub model id ({@code org/name}), not a path. */
    public static boolean isRepoId(String s) {
        return REPO_ID.matcher(s).matches() && !s.contains("..") && !s.contains("--");
    }

    /**
     * The snapshot folder of {@code repoId} at {@code revision} (a branch, tag or commit; null means main), with the
     * files a model needs ({@link WeightFiles}) or, if {@code include} is given, the files matching those globs;
     * missing ones are downloaded unless offline. Returns {@code HF_HUB_CACHE/models--ORG--NAME/snapshots/COMMIT}.
     */
    public Path snapshot(String repoId, String revision, List<String> include, DownloadProgress progress) {
        String rev = revision == null || revision.isBlank() ? "main" : revision;
        if (!isRepoId(repoId)) {
            throw new HubException("'" + repoId + "' is not a Hugging Face model id (expected ORG/NAME)");
        }
        if (!WeightFiles.isSafePath(rev) || rev.length() > 256) {
            throw new HubException("'" + rev + "' is not a valid revision for " + repoId);
        }
        if (settings.offline()) {
            return cachedSnapshot(repoId, rev, include).orElseThrow(() -> new HubException(repoId + "@" + rev
                    + " is not in the Hugging Face cache " + cache().root() + " and HF_HUB_OFFLINE is set, so it"
                    + " cannot be downloaded" + describeCache(repoId)));
        }
        Listing listing;
        try {
            listing = listing(repoId, rev);
        } catch (IOException e) {
            Optional<Path> cached = cachedSnapshot(repoId, rev, include);
            if (cached.isPresent()) {
                log.println("mergelab: cannot reach " + settings.endpoint() + " (" + e.getMessage() + "); using the cached "
                        + repoId + "@" + rev);
                return cached.get();
            }
            throw new HubException("cannot reach the Hugging Face Hub at " + settings.endpoint() + " to download "
                    + repoId + "@" + rev + ", and it is not in the cache " + cache().root() + ": " + e.getMessage(), e);
        }
        return download(repoId, rev, listing, include, progress == null ? DownloadProgress.NONE : progress);
    }

    private Path download(String repoId, String rev, Listing listing, List<String> include, DownloadProgress progress) {
        String commit = listing.commit();
        for (String name : listing.files().keySet()) {
            if (!WeightFiles.isSafePath(name)) {
                throw new HubException(repoId + "@" + rev + ": the Hub lists a file named '" + name
                        + "', which would land outside the cache; refusing the repository");
            }
        }
        List<String> wanted = include != null && !include.isEmpty()
                ? WeightFiles.matching(listing.files().keySet(), include)
                : WeightFiles.select(listing.files().keySet());
        if (wanted.isEmpty()) {
            throw new HubException(repoId + "@" + rev + " has no " + (include != null && !include.isEmpty()
                    ? "file matching " + include : "model weights (no safetensors or pytorch_model.bin files)"));
        }
        Set<String> queue = new LinkedHashSet<>(wanted);
        long[] total = {queue.stream().mapToLong(f -> listing.files().get(f).size()).sum()};
        long[] done = {0};
        List<String> order = new ArrayList<>(queue);
        for (int i = 0; i < order.size(); i++) {
            String name = order.get(i);
            RepoFile f = listing.files().get(name);
            boolean index = WeightFiles.isIndex(name) && (include == null || include.isEmpty());
            Path blob = fetch(repoId, commit, f, done[0], total[0], progress, index);
            if (index) {
                for (String shard : shards(repoId, rev, name, blob, listing)) {
                    if (queue.add(shard)) {
                        order.add(shard);
                        total[0] += listing.files().get(shard).size();
                    }
                }
                try {
                    cache().link(repoId, commit, name, blob.getFileName().toString());
                } catch (IOException e) {
                    throw new HubException("cannot link " + name + " into " + cache().snapshotDir(repoId, commit) + ": "
                            + e.getMessage(), e);
                }
            }
            done[0] += f.size();
        }
        cache().writeRef(repoId, rev, commit);
        return cache().snapshotDir(repoId, commit);
    }

    /** The shards an index names; each must be a plain file name the repository lists. */
    private List<String> shards(String repoId, String rev, String indexName, Path blob, Listing listing) {
        JsonNode map;
        try {
            map = JSON.readTree(blob.toFile()).get("weight_map");
        } catch (IOException e) {
            deleteQuietly(blob);
            throw new HubException(repoId + "@" + rev + ": " + indexName + " is not valid JSON: " + e.getMessage(), e);
        }
        if (map == null || !map.isObject()) {
            deleteQuietly(blob);
            throw new HubException(repoId + "@" + rev + ": " + indexName + " has no weight_map");
        }
        Set<String> out = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String shard = e.getValue().asText();
            if (!WeightFiles.isSafePath(shard) || shard.contains("/")) {
                deleteQuietly(blob);
                throw new HubException(repoId + "@" + rev + ": " + indexName + " puts tensor '" + e.getKey()
                        + "' in '" + shard + "', outside the model folder; refusing the index");
            }
            if (!listing.files().containsKey(shard)) {
                deleteQuietly(blob);
                throw new HubException(repoId + "@" + rev + ": " + indexName + " puts tensor '" + e.getKey()
                        + "' in " + shard + ", which the repository does not have");
            }
            out.add(shard);
        }
        return new ArrayList<>(out);
    }

    /**
     * Makes one file present in the snapshot (downloading its blob if needed) and returns its blob. An index is
     * not linked here: its shards are checked first.
     */
    private Path fetch(String repoId, String commit, RepoFile f, long doneBefore, long total, DownloadProgress progress,
                       boolean deferLink) {
        String where = repoId + "@" + commit.substring(0, 8) + ": " + f.path();
        try {
            Optional<Path> cached = cache().cachedFile(repoId, commit, f.path());
            if (cached.isPresent()) {
                progress.update(f.path(), f.size(), f.size(), doneBefore + f.size(), total);
                return cached.get().toRealPath();
            }
            String known = f.lfs() ? f.lfsSha256() : f.blobId();
            String etag;
            URI location;
            if (known != null && ETAG.matcher(known).matches() && Files.isRegularFile(cache().blob(repoId, known))) {
                etag = known;
                location = null;
            } else {
                Head h = head(repoId, commit, f.path());
                etag = h.etag();
                location = h.location();
                if (h.size() >= 0 && h.size() != f.size()) {
                    throw new HubException(where + ": the Hub lists " + f.size() + " bytes but serves " + h.size());
                }
            }
            Path blob = cache().blob(repoId, etag);
            if (!Files.isRegularFile(blob)) {
                Files.createDirectories(blob.getParent());
                // One download per blob at a time: a second process waits here, then finds the blob done.
                Path lock = cache().lockFile(repoId, etag);
                Files.createDirectories(lock.getParent());
                try (FileChannel lc = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     var held = lc.lock()) {
                    if (!Files.isRegularFile(blob)) {
                        Path part = cache().incomplete(repoId, etag);
                        get(where, location, part, f, etag, doneBefore, total, progress);
                        HfCache.move(part, blob);
                    }
                }
            }
            progress.update(f.path(), f.size(), f.size(), doneBefore + f.size(), total);
            if (!deferLink) cache().link(repoId, commit, f.path(), etag);
            return blob;
        } catch (IOException e) {
            throw new HubException(where + ": " + e.getMessage(), e);
        }
    }

    private record Head(String etag, URI location, long size) {}

    /** HEAD on the resolve URL: the ETag names the blob; for LFS files a redirect gives the CDN location. */
    private Head head(String repoId, String commit, String file) throws IOException {
        URI uri = URI.create(settings.endpoint() + "/" + repoId + "/resolve/" + encode(commit) + "/" + encodePath(file));
        for (int hop = 0; hop < 5; hop++) {
            HttpResponse<Void> r = send(HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .header("Accept-Encoding", "identity"), HttpResponse.BodyHandlers.discarding(), uri);
            HttpHeaders h = r.headers();
            Optional<String> loc = h.firstValue("Location");
            boolean redirect = r.statusCode() >= 300 && r.statusCode() < 400 && loc.isPresent();
            if (redirect && loc.get().startsWith("/")) {
                // A relative redirect is the Hub's own (a renamed repository): follow it, as huggingface_hub does.
                uri = uri.resolve(loc.get());
                continue;
            }
            if (!redirect && r.statusCode() != 200) throw httpError(r.statusCode(), h, repoId, file);
            String etag = h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).orElse(null);
            if (etag == null) throw new HubException(repoId + ": " + file + ": the server sent no ETag; is "
                    + settings.endpoint() + " a Hugging Face Hub endpoint?");
            etag = etag.replaceFirst("^W/", "").replace("\"", "");
            if (!ETAG.matcher(etag).matches()) {
                throw new HubException(repoId + ": " + file + ": the ETag '" + etag + "' is not a safe blob name");
            }
            long size = h.firstValue("X-Linked-Size")
                    .or(() -> redirect ? Optional.empty() : h.firstValue("Content-Length"))
                    .map(Long::parseLong).orElse(-1L);
            return new Head(etag, redirect ? uri.resolve(loc.get()) : uri, size);
        }
        throw new IOException("too many redirects for " + file);
    }

    /**
     * GETs {@code location} into {@code part}, appending to what is already there (a Range request) and retrying
     * up to {@value #ATTEMPTS} times while the transfer makes progress; redirects are followed, and the token is
     * sent only to the Hub's own host. The file is hashed as it is written; a mismatch with the Hub's listing
     * deletes it.
     */
    private void get(String where, URI location, Path part, RepoFile f, String etag, long doneBefore, long total,
                     DownloadProgress progress) throws IOException {
        if (location == null) throw new IOException("no download location");
        Hasher hasher = new Hasher(f, etag);
        IOException last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            long have = Files.exists(part) ? Files.size(part) : 0;
            if (have > f.size()) {
                Files.delete(part);
                have = 0;
            }
            long before = have;
            try {
                hasher.restart(part, have);
                if (have < f.size() || f.size() == 0) {
                    transfer(where, location, part, have, f, hasher, doneBefore, total, progress);
                }
                if (Files.size(part) == f.size()) {
                    hasher.verify(where, part);
                    return;
                }
                last = new IOException("the connection closed after " + Files.size(part) + " of " + f.size() + " bytes");
            } catch (IOException e) {
                last = e;
            } catch (HubException e) {
                deleteQuietly(part);
                throw e;
            }
            if (Files.exists(part) && Files.size(part) <= before && attempt > 0) break; // no progress twice: give up
        }
        long have = Files.exists(part) ? Files.size(part) : 0;
        throw new IOException("download interrupted at " + have + " of " + f.size() + " bytes (" + last.getMessage()
                + "); run again to resume from " + part, last);
    }

    private void transfer(String where, URI uri, Path part, long have, RepoFile f, Hasher hasher, long doneBefore,
                          long total, DownloadProgress progress) throws IOException {
        for (int hop = 0; hop < 5; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().header("Accept-Encoding", "identity");
            if (have > 0) b.header("Range", "bytes=" + have + "-");
            try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                HttpResponse<Void> r = send(b, info -> {
                    int code = info.statusCode();
                    long offset = -1;
                    if (code == 206) {
                        String range = info.headers().firstValue("Content-Range").orElse("");
                        if (range.startsWith("bytes " + have + "-")) offset = have;
                    } else if (code == 200) {
                        offset = 0; // no range asked, or the server ignored it: start over
                    }
                    if (offset < 0) return HttpResponse.BodySubscribers.replacing(null);
                    return HttpResponse.BodySubscribers.fromSubscriber(new FileSink(where, out, offset, f, hasher,
                            doneBefore, total, progress), sink -> null);
                }, uri);
                int code = r.statusCode();
                Optional<String> loc = r.headers().firstValue("Location");
                if (code >= 300 && code < 400 && loc.isPresent()) {
                    uri = uri.resolve(loc.get());
                    continue;
                }
                if (code == 416 && have == f.size()) return;
                String range = r.headers().firstValue("Content-Range").orElse("");
                if (code == 206 && !range.startsWith("bytes " + have + "-")) {
                    throw new IOException("the server answered a Range request from byte " + have + " with '" + range + "'");
                }
                if (code != 200 && code != 206) throw httpError(code, r.headers(), where, "");
                return;
            } catch (IOException e) {
                for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                    if (c instanceof HubException h) throw h;
                }
                throw e;
            }
        }
        throw new IOException("too many redirects");
    }

    /** Writes a response body straight into the partial file, hashing and reporting as it goes. */
    private static final class FileSink implements Flow.Subscriber<List<ByteBuffer>> {
        private final String where;
        private final FileChannel out;
        private final RepoFile f;
        private final Hasher hasher;
        private final long doneBefore, total;
        private final DownloadProgress progress;
        private Flow.Subscription subscription;
        private long pos, lastReport;

        FileSink(String where, FileChannel out, long offset, RepoFile f, Hasher hasher, long doneBefore, long total,
                 DownloadProgress progress) {
            this.where = where;
            this.out = out;
            this.pos = offset;
            this.f = f;
            this.hasher = hasher;
            this.doneBefore = doneBefore;
            this.total = total;
            this.progress = progress;
            try {
                out.truncate(offset);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (offset == 0) hasher.reset();
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            try {
                for (ByteBuffer bb : buffers) {
                    if (pos + bb.remaining() > f.size()) {
                        throw new HubException(where + ": the server sent more than the " + f.size() + " bytes listed");
                    }
                    hasher.update(bb.duplicate());
                    while (bb.hasRemaining()) pos += out.write(bb, pos);
                }
                if (pos - lastReport >= 1 << 20 || pos == f.size()) {
                    lastReport = pos;
                    progress.update(f.path(), pos, f.size(), doneBefore + pos, total);
                }
                subscription.request(1);
            } catch (IOException e) {
                subscription.cancel();
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                subscription.cancel();
                throw e;
            }
        }

        @Override
        public void onError(Throwable t) {
            // the response fails with t; what was written stays for the next attempt to resume from
        }

        @Override
        public void onComplete() {
            // nothing to flush: every buffer was written as it came
        }
    }

    /**
     * The hash a file must have: sha256 for LFS files (the Hub lists it), the git blob sha1 for the others
     * ({@code sha1("blob SIZE\0" + bytes)}, the Hub's blob id). Fed as bytes arrive; a resumed download first hashes
     * the part already on disk.
     */
    private static final class Hasher {
        private final RepoFile f;
        private final String expected, algorithm;
        private MessageDigest md;

        Hasher(RepoFile f, String etag) {
            this.f = f;
            String e = f.lfs() ? f.lfsSha256() : f.blobId() != null ? f.blobId() : etag;
            this.expected = e != null && e.matches("[0-9a-f]{40}|[0-9a-f]{64}") ? e : null;
            this.algorithm = f.lfs() ? "sha256" : "git blob sha1";
        }

        synchronized void reset() {
            try {
                md = MessageDigest.getInstance(f.lfs() ? "SHA-256" : "SHA-1");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            if (!f.lfs()) md.update(("blob " + f.size() + "\0").getBytes(StandardCharsets.US_ASCII));
        }

        /** Starts over, hashing the {@code have} bytes already in {@code part}. */
        void restart(Path part, long have) throws IOException {
            reset();
            if (have == 0) return;
            try (InputStream in = Files.newInputStream(part)) {
                byte[] buf = new byte[1 << 20];
                long left = have;
                for (int n; left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0; left -= n) {
                    update(ByteBuffer.wrap(buf, 0, n));
                }
            }
        }

        synchronized void update(ByteBuffer b) {
            md.update(b);
        }

        synchronized void verify(String where, Path part) {
            if (expected == null) return; // nothing to check against (no blob id listed and an opaque ETag)
            String got = HexFormat.of().formatHex(md.digest());
            if (!expected.equalsIgnoreCase(got)) {
                deleteQuietly(part);
                throw new HubException(where + ": " + algorithm + " of the download is " + got + " but the Hub lists "
                        + expected + "; the corrupt download was deleted (run again to retry)");
            }
        }
    }

    static String digest(Path file, String algorithm, byte[] prefix) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (prefix != null) md.update(prefix);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The repository's commit and files at {@code rev}. */
    Listing listing(String repoId, String rev) throws IOException {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + repoId + "/revision/" + encode(rev) + "?blobs=true");
        HttpResponse<InputStream> r = send(HttpRequest.newBuilder(uri).GET(), HttpResponse.BodyHandlers.ofInputStream(), uri);
        for (int hop = 0; hop < 5 && r.statusCode() >= 300 && r.statusCode() < 400; hop++) {
            // The Hub redirects a renamed repository's API calls relatively; follow those only.
            String loc = r.headers().firstValue("Location").orElse("");
            r.body().close();
            if (!loc.startsWith("/")) throw new IOException("unexpected redirect of the API call to " + loc);
            uri = uri.resolve(loc);
            r = send(HttpRequest.newBuilder(uri).GET(), HttpResponse.BodyHandlers.ofInputStream(), uri);
        }
        JsonNode root;
        try (InputStream in = r.body()) {
            if (r.statusCode() != 200) throw httpError(r.statusCode(), r.headers(), repoId + "@" + rev, "");
            root = JSON.readTree(in);
        }
        String commit = root.path("sha").asText("");
        if (!HfCache.COMMIT.matcher(commit).matches()) {
            throw new HubException(repoId + "@" + rev + ": the Hub's answer has no commit hash (is " + settings.endpoint()
                    + " a Hugging Face Hub endpoint?)");
        }
        Map<String, RepoFile> files = new LinkedHashMap<>();
        for (JsonNode s : root.path("siblings")) {
            String name = s.path("rfilename").asText();
            JsonNode lfs = s.get("lfs");
            String sha = lfs != null && lfs.isObject() ? lfs.path("sha256").asText(lfs.path("oid").asText(null)) : null;
            long size = lfs != null && lfs.has("size") ? lfs.get("size").asLong() : s.path("size").asLong(-1);
            files.put(name, new RepoFile(name, size, s.hasNonNull("blobId") ? s.get("blobId").asText() : null, sha));
        }
        for (RepoFile f : files.values()) {
            if (f.size() < 0) throw new HubException(repoId + "@" + rev + ": the Hub's listing gives no size for "
                    + f.path());
        }
        return new Listing(commit, files);
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder b, HttpResponse.BodyHandler<T> handler, URI uri)
            throws IOException {
        b.header("User-Agent", "mergelab/" + Version.get() + "; java/" + Runtime.version().feature());
        if (settings.token() != null && sameHost(uri, settings.endpoint())) {
            b.header("Authorization", "Bearer " + settings.token());
        }
        try {
            return http().send(b.build(), handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static boolean sameHost(URI a, URI b) {
        return a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    /** A clear error for an HTTP failure; server errors stay IOExceptions so a cached copy can still be used. */
    private IOException httpError(int code, HttpHeaders h, String what, String file) {
        String errorCode = h.firstValue("X-Error-Code").orElse("");
        String target = file.isEmpty() ? what : what + ": " + file;
        switch (code) {
            case 401 -> throw new HubException(target + ": " + (settings.token() == null
                    ? "the repository is gated or private and needs a token: accept its terms on "
                    + settings.endpoint() + " and set HF_TOKEN (or log in with huggingface-cli)"
                    : "the Hub refused the token in HF_TOKEN (gated or private repository: request access on its page)"));
            case 403 -> throw new HubException(target + ": access is forbidden with this token (a gated repository"
                    + " whose terms are not accepted?)");
            case 404 -> throw new HubException(target + ": " + switch (errorCode) {
                case "RevisionNotFound" -> "no such revision";
                case "EntryNotFound" -> "no such file in the repository";
                default -> "no such model repository on " + settings.endpoint() + " (or it is private)";
            });
            default -> {
                return new IOException("HTTP " + code + (errorCode.isEmpty() ? "" : " (" + errorCode + ")") + " for " + target);
            }
        }
    }

    /** The snapshot for {@code rev} if the cache holds one with complete weights (or the requested files). */
    Optional<Path> cachedSnapshot(String repoId, String rev, List<String> include) {
        Optional<String> commit = cache().commitOf(repoId, rev);
        if (commit.isEmpty()) return Optional.empty();
        Path dir = cache().snapshotDir(repoId, commit.get());
        if (!Files.isDirectory(dir)) return Optional.empty();
        if (include != null && !include.isEmpty()) return Optional.of(dir);
        return hasWeights(dir) ? Optional.of(dir) : Optional.empty();
    }

    /** A lone weight file, or an index whose every shard is present. */
    static boolean hasWeights(Path dir) {
        for (String index : List.of(WeightFiles.SAFETENSORS_INDEX, WeightFiles.BIN_INDEX)) {
            Path p = dir.resolve(index);
            if (!Files.isRegularFile(p)) continue;
            try {
                JsonNode map = JSON.readTree(p.toFile()).get("weight_map");
                if (map == null) return false;
                for (JsonNode shard : map) {
                    if (!WeightFiles.isSafePath(shard.asText()) || !Files.isRegularFile(dir.resolve(shard.asText()))) {
                        return false;
                    }
                }
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        return Files.isRegularFile(dir.resolve(WeightFiles.SAFETENSORS)) || Files.isRegularFile(dir.resolve(WeightFiles.BIN));
    }

    private String describeCache(String repoId) {
        Path repo = cache().repoDir(repoId);
        if (!Files.isDirectory(repo)) return "";
        try (var s = Files.list(repo.resolve("snapshots"))) {
            List<String> commits = s.map(p -> p.getFileName().toString()).sorted().toList();
            return commits.isEmpty() ? "" : " (cached snapshots: " + String.join(", ", commits) + ")";
        } catch (IOException e) {
            return "";
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) parts.add(encode(p));
        return String.join("/", parts);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
