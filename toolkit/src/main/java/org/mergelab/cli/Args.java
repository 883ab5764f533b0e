package org.mergelab.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Command-line arguments: positionals plus {@code --name value} options and {@code --flag} switches. */
final class Args {
    private final List<String> positionals = new ArrayList<>();
    private final Map<String, String> options = new LinkedHashMap<>();

    /**
     * @param flags options that take no value ({@code --force}); every other {@code --name} takes the next argument
     *              or {@code --name=value}
     */
    static Args parse(List<String> argv, Set<String> flags, Set<String> valued) {
        Args a = new Args();
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (s.startsWith("--") && s.length() > 2) {
                String name = s.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (flags.contains(name)) {
                    a.options.put(name, value == null ? "true" : value);
                } else if (valued.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= argv.size()) throw new UsageException("option --" + name + " needs a value");
                        value = argv.get(++i);
                    }
                    a.options.put(name, value);
                } else {
                    throw new UsageException("unknown option --" + name);
                }
            } else {
                a.positionals.add(s);
            }
        }
        return a;
    }

    List<String> positionals() { return positionals; }

    String positional(int i, String what) {
        if (i >= positionals.size()) throw new UsageException("missing " + what);
        return positionals.get(i);
    }

    void expectPositionals(int n) {
        if (positionals.size() > n) {
            throw new UsageException("unexpected argument '" + positionals.get(n) + "'");
        }
    }

    boolean flag(String name) {
        return "true".equals(options.get(name));
    }

    String option(String name) {
        return options.get(name);
    }

    String option(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
