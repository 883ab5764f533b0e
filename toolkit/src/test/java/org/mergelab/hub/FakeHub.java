package org.mergelab.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * A local stand-in for the Hugging Face Hub, on 127.0.0.1 only, speaking the protocol huggingface_hub and MergeLab
 * use: {@code GET /api/models/ORG/NAME/revision/REV?blobs=true} (commit and siblings with sizes, git blob ids and LFS
 * sha256), {@code HEAD|GET /ORG/NAME/resolve/REV/FILE} (X-Repo-Commit, ETag = git blob sha1 for small files; for
 * LFS files a 302 to an absolute URL on a second port, the "CDN", with X-Linked-Etag = sha256 and X-Linked-Size),
 * and that CDN's {@code /cdn/SHA256} serving the bytes with Range support. Gated repositories answer 401 without the token; unknown repositories,
 * revisions and files 404 with the Hub's X-Error-Code. Faults can be injected: corrupt bytes, connections cut after
 * N bytes. Every request is logged.
 */
public final class FakeHub implements AutoCloseable {
    public static final String TOKEN = "hf_test_token_123";

    /** One repository: branches to commits, and each commit's files. */
    public static final class Repo {
        final String id;
        final Map<String, String> refs = new LinkedHashMap<>();
        final Map<String, Map<String, byte[]>> commits = new LinkedHashMap<>();
        boolean gated;
        String renamedTo;

        public Repo(String id) {
            this.id = id;
        }

        /** Adds a commit holding {@code files} and points {@code branch} at it. */
        public Repo commit(String branch, String commit, Map<String, byte[]> files) {
            commits.put(commit, new LinkedHashMap<>(files));
            refs.put(branch, commit);
            return this;
        }

        public Repo gated() {
            gated = true;
            return this;
        }
    }

    private final HttpServer server;
    /** The "CDN": a second origin, as the Hub's LFS storage is, so clients must not send it the token. */
    private final HttpServer cdn;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Integer> cutAfter = new ConcurrentHashMap<>();
    private final Map<String, Integer> cutsLeft = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private final Map<String, Integer> truncate = new ConcurrentHashMap<>();

    public FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        cdn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        cdn.createContext("/", this::handle);
        cdn.setExecutor(Executors.newFixedThreadPool(4));
        cdn.start();
    }

    URI cdnEndpoint() {
        return URI.create("http://127.0.0.1:" + cdn.getAddress().getPort());
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    public FakeHub add(Repo r) {
        repos.put(r.id, r);
        for (Map<String, byte[]> files : r.commits.values()) {
            for (byte[] b : files.values()) blobs.put(sha256(b), b);
        }
        return this;
    }

    /** Requests to {@code oldId} redirect (relatively, as the Hub does for renamed repositories) to {@code newId}. */
    public FakeHub rename(String oldId, String newId) {
        Repo alias = new Repo(oldId);
        alias.renamedTo = newId;
        repos.put(oldId, alias);
        return this;
    }

    /** The next {@code times} downloads of {@code file} stop after {@code bytes} bytes. */
    public void cut(String file, int bytes, int times) {
        cutAfter.put(file, bytes);
        cutsLeft.put(file, times);
    }

    /** Serves {@code file} with one byte changed (its listing still gives the true hash). */
    public void corrupt(String file) {
        corrupt.put(file, true);
    }

    /** Serves only the first {@code bytes} bytes of {@code file}, as if that were all of it (the listing disagrees). */
    public void truncate(String file, int bytes) {
        truncate.put(file, bytes);
    }

    public void clearFaults() {
        truncate.clear();
        corrupt.clear();
        cutAfter.clear();
        cutsLeft.clear();
    }

    public List<String> log() {
        synchronized (log) {
            return new ArrayList<>(log);
        }
    }

    public void clearLog() {
        log.clear();
    }

    public static boolean isLfs(String file) {
        return file.endsWith(".safetensors") || file.endsWith(".bin") || file.endsWith(".gguf")
                || file.endsWith(".model") || file.endsWith(".pth");
    }

    public static String gitSha1(byte[] content) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(md.digest(content));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every file under {@code dir}, by its path relative to it (with '/'), for a commit. */
    public static Map<String, byte[]> filesOf(Path dir) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                out.put(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
        return out;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            String range = ex.getRequestHeaders().getFirst("Range");
            log.add(ex.getRequestMethod() + " " + path + (range != null ? " Range=" + range : "")
                    + (ex.getRequestHeaders().containsKey("Authorization") ? " auth" : ""));
            if (path.startsWith("/api/models/")) {
                api(ex, path.substring("/api/models/".length()));
            } else if (path.startsWith("/cdn/")) {
                cdn(ex, path.substring("/cdn/".length()));
            } else if (path.contains("/resolve/")) {
                resolve(ex, path);
            } else {
                error(ex, 404, "RepoNotFound", null);
            }
        } catch (IOException e) {
            // the client went away, or a cut was injected
        }
    }

    private boolean authorized(HttpExchange ex, Repo r) {
        return !r.gated || ("Bearer " + TOKEN).equals(ex.getRequestHeaders().getFirst("Authorization"));
    }

    private void api(HttpExchange ex, String rest) throws IOException {
        int at = rest.indexOf("/revision/");
        if (at < 0) {
            error(ex, 404, "RepoNotFound", null);
            return;
        }
        Repo r = repos.get(rest.substring(0, at));
        String rev = URLDecoder.decode(rest.substring(at + "/revision/".length()), StandardCharsets.UTF_8);
        if (r != null && r.renamedTo != null) {
            ex.getResponseHeaders().set("Location", "/api/models/" + r.renamedTo + rest.substring(at));
            ex.sendResponseHeaders(307, -1);
            return;
        }
        if (r == null) {
            error(ex, 404, "RepoNotFound", null);
            return;
        }
        if (!authorized(ex, r)) {
            error(ex, 401, "GatedRepo", null);
            return;
        }
        String commit = r.commits.containsKey(rev) ? rev : r.refs.get(rev);
        if (commit == null) {
            error(ex, 404, "RevisionNotFound", null);
            return;
        }
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("id", r.id);
        root.put("modelId", r.id);
        root.put("sha", commit);
        root.put("gated", r.gated ? "manual" : "false");
        ArrayNode siblings = root.putArray("siblings");
        for (Map.Entry<String, byte[]> f : r.commits.get(commit).entrySet()) {
            ObjectNode s = siblings.addObject();
            s.put("rfilename", f.getKey());
            byte[] b = f.getValue();
            if (isLfs(f.getKey())) {
                String pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256(b) + "\nsize "
                        + b.length + "\n";
                s.put("blobId", gitSha1(pointer.getBytes(StandardCharsets.US_ASCII)));
                s.put("size", pointer.length());
                ObjectNode lfs = s.putObject("lfs");
                lfs.put("sha256", sha256(b));
                lfs.put("size", b.length);
                lfs.put("pointerSize", pointer.length());
            } else {
                s.put("blobId", gitSha1(b));
                s.put("size", b.length);
            }
        }
        byte[] body = m.writeValueAsBytes(root);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    private void resolve(HttpExchange ex, String path) throws IOException {
        String[] p = path.substring(1).split("/", 5); // org, name, "resolve", rev, file
        if (p.length < 5) {
            error(ex, 404, "EntryNotFound", null);
            return;
        }
        String id = p[0] + "/" + p[1];
        Repo r = repos.get(id);
        if (r == null) {
            error(ex, 404, "RepoNotFound", null);
            return;
        }
        if (r.renamedTo != null) {
            ex.getResponseHeaders().set("Location", "/" + r.renamedTo + "/resolve/" + p[3] + "/" + p[4]);
            ex.sendResponseHeaders(307, -1);
            return;
        }
        if (!authorized(ex, r)) {
            error(ex, 401, "GatedRepo", null);
            return;
        }
        String rev = URLDecoder.decode(p[3], StandardCharsets.UTF_8);
        String commit = r.commits.containsKey(rev) ? rev : r.refs.get(rev);
        if (commit == null) {
            error(ex, 404, "RevisionNotFound", null);
            return;
        }
        String file = URLDecoder.decode(p[4], StandardCharsets.UTF_8);
        byte[] b = r.commits.get(commit).get(file);
        if (b == null) {
            error(ex, 404, "EntryNotFound", commit);
            return;
        }
        ex.getResponseHeaders().set("X-Repo-Commit", commit);
        if (isLfs(file)) {
            String sha = sha256(b);
            ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
            ex.getResponseHeaders().set("X-Linked-Size", Long.toString(b.length));
            ex.getResponseHeaders().set("ETag", "\"" + gitSha1(("oid sha256:" + sha).getBytes(StandardCharsets.US_ASCII)) + "\"");
            ex.getResponseHeaders().set("Location", cdnEndpoint() + "/cdn/" + sha + "?file=" + file.replace('/', '_'));
            ex.sendResponseHeaders(302, -1);
            return;
        }
        ex.getResponseHeaders().set("ETag", "\"" + gitSha1(b) + "\"");
        send(ex, b, file, null);
    }

    private void cdn(HttpExchange ex, String sha) throws IOException {
        byte[] b = blobs.get(sha);
        if (b == null) {
            error(ex, 404, null, null);
            return;
        }
        String query = ex.getRequestURI().getQuery();
        String file = query != null && query.startsWith("file=") ? query.substring(5) : sha;
        ex.getResponseHeaders().set("ETag", "\"" + sha + "\"");
        send(ex, b, file, ex.getRequestHeaders().getFirst("Range"));
    }

    private void send(HttpExchange ex, byte[] b, String file, String range) throws IOException {
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        if (corrupt.containsKey(file)) {
            b = b.clone();
            b[b.length / 2] ^= 0x5A;
        }
        if (truncate.containsKey(file)) b = java.util.Arrays.copyOf(b, Math.min(b.length, truncate.get(file)));
        int from = 0;
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Integer.parseInt(range.substring(6, range.length() - 1));
            if (from >= b.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + b.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (b.length - 1) + "/" + b.length);
        }
        int len = b.length - from;
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Integer.toString(len));
            ex.sendResponseHeaders(range != null ? 206 : 200, -1);
            return;
        }
        ex.sendResponseHeaders(range != null ? 206 : 200, len);
        OutputStream out = ex.getResponseBody();
        Integer cut = cutAfter.get(file);
        if (cut != null && cutsLeft.merge(file, -1, Integer::sum) >= 0 && from < cut) {
            out.write(b, from, cut - from);
            out.flush();
            throw new IOException("cut"); // closes the connection with the body short
        }
        // In pieces: the JDK server copies each write into a buffer of its size.
        for (int off = from; off < b.length; off += 1 << 20) out.write(b, off, Math.min(1 << 20, b.length - off));
    }

    private void error(HttpExchange ex, int code, String errorCode, String commit) throws IOException {
        if (errorCode != null) ex.getResponseHeaders().set("X-Error-Code", errorCode);
        if (commit != null) ex.getResponseHeaders().set("X-Repo-Commit", commit);
        byte[] body = ("{\"error\": \"" + (errorCode == null ? "not found" : errorCode) + "\"}").getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(code, ex.getRequestMethod().equals("HEAD") ? -1 : body.length);
        if (!ex.getRequestMethod().equals("HEAD")) ex.getResponseBody().write(body);
    }

    @Override
    public void close() {
        for (HttpServer s : List.of(server, cdn)) {
            s.stop(0);
            ((java.util.concurrent.ExecutorService) s.getExecutor()).shutdownNow();
        }
    }

    /**
     * Serves folders as repositories until stdin closes: {@code FakeHub ORG/NAME=DIR@COMMIT ...}. Prints
     * "listening on URL" when ready. Used by make_hub_reference.py to let huggingface_hub talk to the same server.
     */
    public static void main(String[] args) throws Exception {
        FakeHub hub = new FakeHub();
        for (String a : args) {
            int eq = a.indexOf('='), at = a.lastIndexOf('@');
            hub.add(new Repo(a.substring(0, eq)).commit("main", a.substring(at + 1), filesOf(Path.of(a.substring(eq + 1, at)))));
        }
        System.out.println("listening on " + hub.endpoint());
        System.out.flush();
        while (System.in.read() >= 0) {
            // wait for the parent to close stdin
        }
        hub.close();
    }
}
