package org.mergelab.hub;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which files of a model repository MergeLab needs: config and generation config, the tokenizer files, and the
 * weights: {@code model.safetensors} or the safetensors index (whose shards are read from it), and only when the
 * repository has no safetensors weights, {@code pytorch_model.bin} or its index. Files in sub-folders
 * ({@code original/}, {@code onnx/}) and other formats are left alone.
 */
public final class WeightFiles {
    static final List<String> METADATA = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json", "added_tokens.json", "vocab.json",
            "merges.txt", "chat_template.jinja");
    public static final String SAFETENSORS = "model.safetensors";
    public static final String SAFETENSORS_INDEX = "model.safetensors.index.json";
    public static final String BIN = "pytorch_model.bin";
    public static final String BIN_INDEX = "pytorch_model.bin.index.json";

    private WeightFiles() {}

    /**
     * The files to fetch first, from the repository's listing: metadata plus either a lone weight file or an index
     * (the shards an index names are added by the caller once the index is read).
     */
    public static List<String> select(Set<String> files) {
        Set<String> out = new LinkedHashSet<>();
        for (String m : METADATA) if (files.contains(m)) out.add(m);
        if (files.contains(SAFETENSORS_INDEX)) {
            out.add(SAFETENSORS_INDEX);
        } else if (files.contains(SAFETENSORS)) {
            out.add(SAFETENSORS);
        } else if (files.contains(BIN_INDEX)) {
            out.add(BIN_INDEX);
        } else if (files.contains(BIN)) {
            out.add(BIN);
        } else {
            // Some repositories have top-level safetensors under other names (adapter_model.safetensors, ...).
            for (String f : files) if (!f.contains("/") && f.endsWith(".safetensors")) out.add(f);
        }
        return new ArrayList<>(out);
    }

    public static boolean isIndex(String file) {
        return file.equals(SAFETENSORS_INDEX) || file.equals(BIN_INDEX);
    }

    /** Files matching any of {@code globs} (shell globs over the repository path, as huggingface_hub's patterns). */
    public static List<String> matching(Set<String> files, List<String> globs) {
        List<PathMatcher> ms = new ArrayList<>();
        for (String g : globs) ms.add(FileSystems.getDefault().getPathMatcher("glob:" + g));
        List<String> out = new ArrayList<>();
        for (String f : files) {
            for (PathMatcher m : ms) {
                if (m.matches(Path.of(f))) {
                    out.add(f);
                    break;
                }
            }
        }
        return out;
    }

    /**
     * Whether {@code name} is a safe repository path: relative, no empty, "." or ".." parts, no backslashes or
     * control characters, so that joining it to a folder can never leave that folder.
     */
    public static boolean isSafePath(String name) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.length() > 1024) return false;
        for (char c : name.toCharArray()) if (c < 0x20 || c == 0x7F) return false;
        for (String part : name.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) return false;
        }
        return true;
    }
}
