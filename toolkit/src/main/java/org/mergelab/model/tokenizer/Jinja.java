package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The subset of Jinja2 that chat templates use, rendered as transformers renders them (trim_blocks and
 * lstrip_blocks on, loop controls on): text and {@code {{ }}} output with {@code -} whitespace control; if/elif/else,
 * for (with loop.index, index0, first, last, length, revindex; else; break/continue), set (also namespace attributes
 * and block set), comments; expressions with literals, lists, dicts, attribute and item access, slices, arithmetic,
 * {@code ~}, comparisons, {@code in}, and/or/not, conditional expressions, filters, tests and calls. Anything else
 * (macros, includes, call blocks) is an error naming the template and line.
 */
final class Jinja {
    /** What an undefined name or missing attribute evaluates to: empty when printed, false when tested. */
    static final Object UNDEFINED = new Object() {
        @Override
        public String toString() { return ""; }
    };

    /** A function a template may call, such as raise_exception or namespace. */
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    private final List<Node> body;
    private final String where;

    private Jinja(List<Node> body, String where) {
        this.body = body;
        this.where = where;
    }

    static Jinja parse(String template, String where) {
        return new Jinja(new Parser(Lexer.lex(template, where), where).template(), where);
    }

    String render(Map<String, Object> globals) {
        StringBuilder out = new StringBuilder();
        Scope scope = new Scope(null);
        scope.vars.putAll(globals);
        try {
            for (Node n : body) n.render(scope, out);
        } catch (LoopControl c) {
            throw new TemplateException(where + ": " + c.getMessage() + " outside a loop");
        }
        return out.toString();
    }

    /** A template error; raise_exception(...) in a template throws one with the template's message. */
    static final class TemplateException extends RuntimeException {
        TemplateException(String message) {
            super(message);
        }
    }

    // ---------------------------------------------------------------- lexing

    /** A piece of template source: text, an output {{ }}, or a statement {% %}, with its line. */
    private record Tok(char kind, String body, int line) {}

    private static final class Lexer {
        static List<Tok> lex(String src, String where) {
            List<Tok> out = new ArrayList<>();
            int i = 0, line = 1;
            StringBuilder text = new StringBuilder();
            boolean trimNextLeading = false;
            while (i < src.length()) {
                int open = nextOpen(src, i);
                if (open < 0) {
                    text.append(src, i, src.length());
                    break;
                }
                text.append(src, i, open);
                char kind = src.charAt(open + 1);
                String close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
                int end = src.indexOf(close, open + 2);
                if (end < 0) throw new TemplateException(where + ": unclosed " + src.substring(open, open + 2)
                        + " at line " + (line + count(src, i, open)));
                String inner = src.substring(open + 2, end);
                boolean trimBefore = inner.startsWith("-"), trimAfter = inner.endsWith("-");
                boolean plusBefore = inner.startsWith("+");
                if (trimBefore || plusBefore) inner = inner.substring(1);
                if (trimAfter && inner.length() > 0) inner = inner.substring(0, inner.length() - 1);
                String pending = text.toString();
                if (trimNextLeading) pending = stripLeading(pending);
                if (trimBefore) {
                    pending = stripTrailing(pending);
                } else if (kind != '{' && !plusBefore) {
                    pending = lstripBlock(pending); // lstrip_blocks: whitespace from the line start to the tag
                }
                int tagLine = line + count(src, i, open);
                if (!pending.isEmpty()) out.add(new Tok('t', pending, tagLine));
                text.setLength(0);
                line = tagLine + count(src, open, end);
                i = end + 2;
                trimNextLeading = trimAfter;
                if (kind != '{' && !trimAfter && i < src.length() && src.charAt(i) == '\n') {
                    i++; // trim_blocks: the newline after a block tag goes
                    line++;
                }
                if (kind == '#') continue;
                out.add(new Tok(kind == '{' ? 'o' : 's', inner.strip(), tagLine));
            }
            String rest = text.toString();
            if (trimNextLeading) rest = stripLeading(rest);
            if (!rest.isEmpty()) out.add(new Tok('t', rest, line));
            return out;
        }

        private static int nextOpen(String s, int from) {
            for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
                char c = s.charAt(i + 1);
                if (c == '{' || c == '%' || c == '#') return i;
            }
            return -1;
        }

        private static int count(String s, int from, int to) {
            int n = 0;
            for (int i = from; i < to; i++) if (s.charAt(i) == '\n') n++;
            return n;
        }

        private static String stripLeading(String s) {
            int i = 0;
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
            return s.substring(i);
        }

        private static String stripTrailing(String s) {
            int i = s.length();
            while (i > 0 && Character.isWhitespace(s.charAt(i - 1))) i--;
            return s.substring(0, i);
        }

        private static String lstripBlock(String s) {
            int i = s.length();
            while (i > 0 && (s.charAt(i - 1) == ' ' || s.charAt(i - 1) == '\t')) i--;
            if (i == 0 || s.charAt(i - 1) == '\n') return s.substring(0, i);
            return s;
        }
    }

    // ---------------------------------------------------------------- nodes

    private interface Node {
        void render(Scope scope, StringBuilder out);
    }

    private static final class Scope {
        final Scope parent;
        final Map<String, Object> vars = new LinkedHashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) return s.vars.get(name);
            }
            return UNDEFINED;
        }
    }

    private static final class LoopControl extends RuntimeException {
        final boolean isBreak;

        LoopControl(boolean isBreak) {
            super(isBreak ? "break" : "continue", null, false, false);
            this.isBreak = isBreak;
        }
    }

    private record TextNode(String text) implements Node {
        public void render(Scope s, StringBuilder out) { out.append(text); }
    }

    private record OutputNode(Expr e) implements Node {
        public void render(Scope s, StringBuilder out) { out.append(str(e.eval(s))); }
    }

    private record IfNode(List<Expr> conditions, List<List<Node>> branches) implements Node {
        public void render(Scope s, StringBuilder out) {
            for (int i = 0; i < branches.size(); i++) {
                if (i >= conditions.size() || truthy(conditions.get(i).eval(s))) {
                    for (Node n : branches.get(i)) n.render(s, out);
                    return;
                }
            }
        }
    }

    private record ForNode(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> orElse)
            implements Node {
        public void render(Scope s, StringBuilder out) {
            List<Object> items = new ArrayList<>(iterate(iterable.eval(s)));
            if (filter != null) {
                List<Object> kept = new ArrayList<>();
                for (Object item : items) {
                    Scope f = new Scope(s);
                    bind(f, item);
                    if (truthy(filter.eval(f))) kept.add(item);
                }
                items = kept;
            }
            if (items.isEmpty()) {
                for (Node n : orElse) n.render(s, out);
                return;
            }
            Scope inner = new Scope(s);
            for (int i = 0; i < items.size(); i++) {
                Map<String, Object> loop = new LinkedHashMap<>();
                loop.put("index", (long) i + 1);
                loop.put("index0", (long) i);
                loop.put("first", i == 0);
                loop.put("last", i == items.size() - 1);
                loop.put("length", (long) items.size());
                loop.put("revindex", (long) (items.size() - i));
                loop.put("revindex0", (long) (items.size() - i - 1));
                loop.put("previtem", i > 0 ? items.get(i - 1) : UNDEFINED);
                loop.put("nextitem", i + 1 < items.size() ? items.get(i + 1) : UNDEFINED);
                inner.vars.put("loop", loop);
                bind(inner, items.get(i));
                try {
                    for (Node n : body) n.render(inner, out);
                } catch (LoopControl c) {
                    if (c.isBreak) break;
                }
            }
        }

        private void bind(Scope scope, Object item) {
            if (targets.size() == 1) {
                scope.vars.put(targets.get(0), item);
                return;
            }
            List<Object> parts = new ArrayList<>(iterate(item));
            for (int k = 0; k < targets.size(); k++) scope.vars.put(targets.get(k), k < parts.size() ? parts.get(k) : UNDEFINED);
        }
    }

    private record SetNode(String name, String attribute, Expr value, List<Node> block) implements Node {
        public void render(Scope s, StringBuilder out) {
            Object v;
            if (block != null) {
                StringBuilder sb = new StringBuilder();
                for (Node n : block) n.render(s, sb);
                v = sb.toString();
            } else {
                v = value.eval(s);
            }
            if (attribute != null) {
                Object target = s.get(name);
                if (!(target instanceof Namespace ns)) {
                    throw new TemplateException("cannot set attribute " + attribute + " of " + name + ", not a namespace");
                }
                ns.put(attribute, v);
            } else {
                s.vars.put(name, v);
            }
        }
    }

    private record ControlNode(boolean isBreak) implements Node {
        public void render(Scope s, StringBuilder out) { throw new LoopControl(isBreak); }
    }

    /** What {@code namespace(...)} makes: a mutable map whose attributes {@code set} may assign. */
    static final class Namespace extends LinkedHashMap<String, Object> {}

    // ---------------------------------------------------------------- parsing statements

    private static final class Parser {
        private final List<Tok> toks;
        private final String where;
        private int pos;

        Parser(List<Tok> toks, String where) {
            this.toks = toks;
            this.where = where;
        }

        List<Node> template() {
            List<Node> body = block();
            if (pos < toks.size()) throw error(toks.get(pos), "unexpected {% " + toks.get(pos).body() + " %}");
            return body;
        }

        private TemplateException error(Tok t, String msg) {
            return new TemplateException(where + " line " + t.line() + ": " + msg);
        }

        private static String keyword(Tok t) {
            String b = t.body();
            int sp = 0;
            while (sp < b.length() && (Character.isLetterOrDigit(b.charAt(sp)) || b.charAt(sp) == '_')) sp++;
            return b.substring(0, sp);
        }

        /** Nodes up to (not including) a statement that closes or continues the enclosing block. */
        private List<Node> block() {
            List<Node> nodes = new ArrayList<>();
            while (pos < toks.size()) {
                Tok t = toks.get(pos);
                if (t.kind() == 't') {
                    nodes.add(new TextNode(t.body()));
                    pos++;
                } else if (t.kind() == 'o') {
                    nodes.add(new OutputNode(expr(t, t.body())));
                    pos++;
                } else {
                    String kw = keyword(t);
                    switch (kw) {
                        case "endif", "elif", "else", "endfor", "endset", "endgeneration" -> { return nodes; }
                        case "if" -> nodes.add(ifNode());
                        case "for" -> nodes.add(forNode());
                        case "set" -> nodes.add(setNode());
                        case "break", "continue" -> {
                            nodes.add(new ControlNode(kw.equals("break")));
                            pos++;
                        }
                        case "generation" -> { // transformers' assistant-mask marker: renders its body unchanged
                            pos++;
                            nodes.addAll(block());
                            expect("endgeneration");
                        }
                        default -> throw error(t, "{% " + kw + " %} is not supported in chat templates here");
                    }
                }
            }
            return nodes;
        }

        private Tok expect(String kw) {
            if (pos >= toks.size() || toks.get(pos).kind() != 's' || !keyword(toks.get(pos)).equals(kw)) {
                Tok last = toks.get(Math.min(pos, toks.size() - 1));
                throw error(last, "expected {% " + kw + " %}");
            }
            return toks.get(pos++);
        }

        private Node ifNode() {
            List<Expr> conds = new ArrayList<>();
            List<List<Node>> branches = new ArrayList<>();
            Tok t = toks.get(pos++);
            conds.add(expr(t, t.body().substring(2)));
            branches.add(block());
            while (true) {
                if (pos >= toks.size()) throw error(t, "{% if %} without {% endif %}");
                Tok c = toks.get(pos++);
                String kw = keyword(c);
                if (kw.equals("elif")) {
                    conds.add(expr(c, c.body().substring(4)));
                    branches.add(block());
                } else if (kw.equals("else")) {
                    branches.add(block());
                } else if (kw.equals("endif")) {
                    return new IfNode(conds, branches);
                } else {
                    throw error(c, "unexpected {% " + kw + " %} inside {% if %}");
                }
            }
        }

        private Node forNode() {
            Tok t = toks.get(pos++);
            String spec = t.body().substring(3).strip();
            int in = findKeyword(spec, " in ");
            if (in < 0) throw error(t, "expected 'for x in ...'");
            List<String> targets = new ArrayList<>();
            for (String s : spec.substring(0, in).split(",")) targets.add(s.strip().replaceAll("[()]", ""));
            String rest = spec.substring(in + 4);
            Expr filter = null;
            int ifAt = findKeyword(rest, " if ");
            if (ifAt >= 0) {
                filter = expr(t, rest.substring(ifAt + 4));
                rest = rest.substring(0, ifAt);
            }
            Expr iterable = expr(t, rest);
            List<Node> body = block();
            List<Node> orElse = List.of();
            if (pos < toks.size() && keyword(toks.get(pos)).equals("else")) {
                pos++;
                orElse = block();
            }
            expect("endfor");
            return new ForNode(targets, iterable, filter, body, orElse);
        }

        private Node setNode() {
            Tok t = toks.get(pos++);
            String spec = t.body().substring(3).strip();
            int eq = indexOfAssign(spec);
            if (eq < 0) { // block set: {% set x %}...{% endset %}
                List<Node> body = block();
                expect("endset");
                return new SetNode(spec, null, null, body);
            }
            String target = spec.substring(0, eq).strip();
            Expr value = expr(t, spec.substring(eq + 1));
            int dot = target.indexOf('.');
            return dot < 0 ? new SetNode(target, null, value, null)
                    : new SetNode(target.substring(0, dot).strip(), target.substring(dot + 1).strip(), value, null);
        }

        private static int indexOfAssign(String s) {
            char quote = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (quote != 0) {
                    if (c == quote) quote = 0;
                } else if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == '=' && (i + 1 >= s.length() || s.charAt(i + 1) != '=')
                        && (i == 0 || "=!<>".indexOf(s.charAt(i - 1)) < 0)) {
                    return i;
                }
            }
            return -1;
        }

        /** The position of {@code kw} (" in ") outside quotes and brackets. */
        private static int findKeyword(String s, String kw) {
            char quote = 0;
            int depth = 0;
            for (int i = 0; i + kw.length() <= s.length(); i++) {
                char c = s.charAt(i);
                if (quote != 0) {
                    if (c == quote) quote = 0;
                } else if (c == '\'' || c == '"') {
                    quote = c;
                } else if ("([{".indexOf(c) >= 0) {
                    depth++;
                } else if (")]}".indexOf(c) >= 0) {
                    depth--;
                } else if (depth == 0 && s.startsWith(kw, i)) {
                    return i;
                }
            }
            return -1;
        }

        private Expr expr(Tok t, String src) {
            try {
                return new ExprParser(src).parseAll();
            } catch (TemplateException e) {
                throw error(t, e.getMessage() + " in '" + src.strip() + "'");
            }
        }
    }

    // ---------------------------------------------------------------- expressions

    interface Expr {
        Object eval(Scope s);
    }

    private static final class ExprParser {
        private final List<String> tk;
        private int p;

        ExprParser(String src) {
            this.tk = tokenize(src);
        }

        Expr parseAll() {
            Expr e = conditional();
            if (p < tk.size()) throw new TemplateException("unexpected '" + tk.get(p) + "'");
            return e;
        }

        private static List<String> tokenize(String s) {
            List<String> out = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                } else if (c == '\'' || c == '"') {
                    StringBuilder sb = new StringBuilder("\"");
                    int j = i + 1;
                    while (j < s.length() && s.charAt(j) != c) {
                        char d = s.charAt(j);
                        if (d == '\\' && j + 1 < s.length()) {
                            char e = s.charAt(++j);
                            switch (e) {
                                case 'n' -> sb.append('\n');
                                case 't' -> sb.append('\t');
                                case 'r' -> sb.append('\r');
                                default -> sb.append(e);
                            }
                        } else {
                            sb.append(d);
                        }
                        j++;
                    }
                    if (j >= s.length()) throw new TemplateException("unterminated string");
                    out.add(sb.toString());
                    i = j + 1;
                } else if (Character.isDigit(c)) {
                    int j = i;
                    while (j < s.length() && (Character.isDigit(s.charAt(j)) || s.charAt(j) == '.'
                            && j + 1 < s.length() && Character.isDigit(s.charAt(j + 1)))) j++;
                    out.add(s.substring(i, j));
                    i = j;
                } else if (Character.isLetter(c) || c == '_') {
                    int j = i;
                    while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) j++;
                    out.add(s.substring(i, j));
                    i = j;
                } else {
                    String two = i + 1 < s.length() ? s.substring(i, i + 2) : "";
                    if (List.of("==", "!=", "<=", ">=", "//", "**").contains(two)) {
                        out.add(two);
                        i += 2;
                    } else {
                        out.add(String.valueOf(c));
                        i++;
                    }
                }
            }
            return out;
        }

        private String peek() { return p < tk.size() ? tk.get(p) : ""; }

        private boolean accept(String s) {
            if (peek().equals(s) && !isString(p)) {
                p++;
                return true;
            }
            return false;
        }

        private boolean isString(int i) { return i < tk.size() && tk.get(i).startsWith("\""); }

        private void expect(String s) {
            if (!accept(s)) throw new TemplateException("expected '" + s + "' but found '" + peek() + "'");
        }

        private Expr conditional() {
            Expr value = or();
            if (peek().equals("if") && !isString(p)) {
                p++;
                Expr cond = or();
                Expr otherwise = accept("else") ? conditional() : s -> UNDEFINED;
                return s -> truthy(cond.eval(s)) ? value.eval(s) : otherwise.eval(s);
            }
            return value;
        }

        private Expr or() {
            Expr l = and();
            while (accept("or")) {
                Expr a = l, b = and();
                l = s -> { Object x = a.eval(s); return truthy(x) ? x : b.eval(s); };
            }
            return l;
        }

        private Expr and() {
            Expr l = not();
            while (accept("and")) {
                Expr a = l, b = not();
                l = s -> { Object x = a.eval(s); return !truthy(x) ? x : b.eval(s); };
            }
            return l;
        }

        private Expr not() {
            if (accept("not")) {
                Expr e = not();
                return s -> !truthy(e.eval(s));
            }
            return comparison();
        }

        private Expr comparison() {
            Expr l = concat();
            while (true) {
                String op = peek();
                if (isString(p)) return l;
                if (op.equals("not") && p + 1 < tk.size() && tk.get(p + 1).equals("in")) {
                    p += 2;
                    Expr a = l, b = concat();
                    l = s -> !contains(b.eval(s), a.eval(s));
                } else if (op.equals("in")) {
                    p++;
                    Expr a = l, b = concat();
                    l = s -> contains(b.eval(s), a.eval(s));
                } else if (List.of("==", "!=", "<", ">", "<=", ">=").contains(op)) {
                    p++;
                    Expr a = l, b = concat();
                    l = s -> compare(op, a.eval(s), b.eval(s));
                } else if (op.equals("is")) {
                    p++;
                    boolean negate = accept("not");
                    String test = tk.get(p++);
                    List<Expr> args = new ArrayList<>();
                    if (accept("(")) {
                        if (!accept(")")) {
                            do args.add(conditional()); while (accept(","));
                            expect(")");
                        }
                    } else if (p < tk.size() && (isString(p) || Character.isDigit(peek().charAt(0)))) {
                        args.add(primary());
                    }
                    Expr a = l;
                    l = s -> negate != test(test, a.eval(s), args.stream().map(x -> x.eval(s)).toList());
                } else {
                    return l;
                }
            }
        }

        private Expr concat() {
            Expr l = additive();
            while (accept("~")) {
                Expr a = l, b = additive();
                l = s -> str(a.eval(s)) + str(b.eval(s));
            }
            return l;
        }

        private Expr additive() {
            Expr l = multiplicative();
            while (true) {
                if (accept("+")) {
                    Expr a = l, b = multiplicative();
                    l = s -> plus(a.eval(s), b.eval(s));
                } else if (accept("-")) {
                    Expr a = l, b = multiplicative();
                    l = s -> arith('-', a.eval(s), b.eval(s));
                } else {
                    return l;
                }
            }
        }

        private Expr multiplicative() {
            Expr l = unary();
            while (true) {
                String op = peek();
                if (isString(p) || !List.of("*", "/", "//", "%").contains(op)) return l;
                p++;
                Expr a = l, b = unary();
                char c = op.equals("//") ? 'q' : op.charAt(0);
                l = s -> arith(c, a.eval(s), b.eval(s));
            }
        }

        private Expr unary() {
            if (accept("-")) {
                Expr e = unary();
                return s -> arith('-', 0L, e.eval(s));
            }
            return filtered();
        }

        private Expr filtered() {
            Expr e = postfix();
            while (accept("|")) {
                String name = tk.get(p++);
                List<Expr> args = new ArrayList<>();
                if (accept("(")) {
                    if (!accept(")")) {
                        do {
                            if (p + 1 < tk.size() && tk.get(p + 1).equals("=") && !isString(p)) p += 2; // kwarg name
                            args.add(conditional());
                        } while (accept(","));
                        expect(")");
                    }
                }
                Expr target = e;
                e = s -> filter(name, target.eval(s), args.stream().map(x -> x.eval(s)).toList());
            }
            return e;
        }

        private Expr postfix() {
            Expr e = primary();
            while (true) {
                if (accept(".")) {
                    String name = tk.get(p++);
                    Expr target = e;
                    if (peek().equals("(")) {
                        p++;
                        List<Expr> args = callArgs();
                        e = s -> method(target.eval(s), name, args.stream().map(x -> x.eval(s)).toList());
                    } else {
                        e = s -> attribute(target.eval(s), name);
                    }
                } else if (accept("[")) {
                    Expr target = e;
                    Expr[] parts = new Expr[3];
                    boolean slice = false;
                    int k = 0;
                    while (!peek().equals("]")) {
                        if (accept(":")) {
                            slice = true;
                            k++;
                        } else {
                            parts[k] = conditional();
                        }
                    }
                    expect("]");
                    boolean isSlice = slice;
                    e = s -> isSlice ? slice(target.eval(s), parts, s) : item(target.eval(s), parts[0].eval(s));
                } else if (peek().equals("(") && !isString(p)) {
                    p++;
                    List<Expr> args = callArgs();
                    Expr target = e;
                    e = s -> {
                        Object f = target.eval(s);
                        if (!(f instanceof Callable c)) throw new TemplateException("not callable: " + str(f));
                        Map<String, Object> kwargs = new LinkedHashMap<>();
                        List<Object> positional = new ArrayList<>();
                        for (Expr a : args) {
                            if (a instanceof Kwarg kw) kwargs.put(kw.name, kw.value.eval(s));
                            else positional.add(a.eval(s));
                        }
                        return c.call(positional, kwargs);
                    };
                } else {
                    return e;
                }
            }
        }

        private record Kwarg(String name, Expr value) implements Expr {
            public Object eval(Scope s) { return value.eval(s); }
        }

        private List<Expr> callArgs() {
            List<Expr> args = new ArrayList<>();
            if (accept(")")) return args;
            do {
                if (p + 1 < tk.size() && tk.get(p + 1).equals("=") && !isString(p)) {
                    String name = tk.get(p);
                    p += 2;
                    args.add(new Kwarg(name, conditional()));
                } else {
                    args.add(conditional());
                }
            } while (accept(","));
            expect(")");
            return args;
        }

        private Expr primary() {
            if (p >= tk.size()) throw new TemplateException("unexpected end of expression");
            String t = tk.get(p++);
            if (t.startsWith("\"")) {
                String v = t.substring(1);
                // adjacent string literals concatenate, as in Python
                StringBuilder sb = new StringBuilder(v);
                while (isString(p)) sb.append(tk.get(p++).substring(1));
                String all = sb.toString();
                return s -> all;
            }
            if (Character.isDigit(t.charAt(0))) {
                Object v = t.contains(".") ? (Object) Double.parseDouble(t) : (Object) Long.parseLong(t);
                return s -> v;
            }
            switch (t) {
                case "(": {
                    if (accept(")")) return s -> List.of();
                    Expr e = conditional();
                    if (accept(",")) {
                        List<Expr> items = new ArrayList<>(List.of(e));
                        if (!peek().equals(")")) do items.add(conditional()); while (accept(",") && !peek().equals(")"));
                        expect(")");
                        return s -> items.stream().map(x -> x.eval(s)).toList();
                    }
                    expect(")");
                    return e;
                }
                case "[": {
                    List<Expr> items = new ArrayList<>();
                    if (!accept("]")) {
                        do {
                            if (peek().equals("]")) break;
                            items.add(conditional());
                        } while (accept(","));
                        expect("]");
                    }
                    return s -> {
                        List<Object> l = new ArrayList<>();
                        for (Expr x : items) l.add(x.eval(s));
                        return l;
                    };
                }
                case "{": {
                    List<Expr[]> entries = new ArrayList<>();
                    if (!accept("}")) {
                        do {
                            if (peek().equals("}")) break;
                            Expr k = conditional();
                            expect(":");
                            entries.add(new Expr[] {k, conditional()});
                        } while (accept(","));
                        expect("}");
                    }
                    return s -> {
                        Map<String, Object> m = new LinkedHashMap<>();
                        for (Expr[] kv : entries) m.put(str(kv[0].eval(s)), kv[1].eval(s));
                        return m;
                    };
                }
                case "true", "True": return s -> true;
                case "false", "False": return s -> false;
                case "none", "None": return s -> null;
                default:
                    if (!Character.isLetter(t.charAt(0)) && t.charAt(0) != '_') {
                        throw new TemplateException("unexpected '" + t + "'");
                    }
                    return s -> s.get(t);
            }
        }
    }

    // ---------------------------------------------------------------- semantics (Python's)

    static boolean truthy(Object v) {
        if (v == null || v == UNDEFINED) return false;
        if (v instanceof Boolean b) return b;
        if (v instanceof String s) return !s.isEmpty();
        if (v instanceof Number n) return n.doubleValue() != 0;
        if (v instanceof Collection<?> c) return !c.isEmpty();
        if (v instanceof Map<?, ?> m) return !m.isEmpty();
        return true;
    }

    static String str(Object v) {
        if (v == null) return "None";
        if (v == UNDEFINED) return "";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof Double d) {
            if (d == Math.rint(d) && !Double.isInfinite(d)) return String.format("%.1f", d);
            return Double.toString(d);
        }
        if (v instanceof String s) return s;
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            for (Object o : l) parts.add(o instanceof String s ? "'" + s + "'" : str(o));
            return "[" + String.join(", ", parts) + "]";
        }
        if (v instanceof Map<?, ?> m) {
            List<String> parts = new ArrayList<>();
            m.forEach((k, x) -> parts.add("'" + k + "': " + (x instanceof String s ? "'" + s + "'" : str(x))));
            return "{" + String.join(", ", parts) + "}";
        }
        return v.toString();
    }

    private static Collection<?> iterate(Object v) {
        if (v == null || v == UNDEFINED) return List.of();
        if (v instanceof Collection<?> c) return c;
        if (v instanceof Map<?, ?> m) return m.keySet();
        if (v instanceof String s) return s.codePoints().mapToObj(Character::toString).toList();
        throw new TemplateException("cannot iterate over " + str(v));
    }

    private static boolean contains(Object container, Object item) {
        if (container instanceof String s) return s.contains(str(item));
        if (container instanceof Map<?, ?> m) return m.containsKey(item);
        if (container instanceof Collection<?> c) {
            for (Object o : c) if (equal(o, item)) return true;
            return false;
        }
        return false;
    }

    private static boolean equal(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) return x.doubleValue() == y.doubleValue();
        if (a == UNDEFINED || b == UNDEFINED) return a == b;
        return Objects.equals(a, b);
    }

    private static boolean compare(String op, Object a, Object b) {
        switch (op) {
            case "==": return equal(a, b);
            case "!=": return !equal(a, b);
            default:
                int c;
                if (a instanceof Number x && b instanceof Number y) c = Double.compare(x.doubleValue(), y.doubleValue());
                else if (a instanceof String x && b instanceof String y) c = x.compareTo(y);
                else throw new TemplateException("cannot compare " + str(a) + " and " + str(b));
                return switch (op) {
                    case "<" -> c < 0;
                    case ">" -> c > 0;
                    case "<=" -> c <= 0;
                    default -> c >= 0;
                };
        }
    }

    private static Object plus(Object a, Object b) {
        if (a instanceof String x && b instanceof String y) return x + y;
        if (a instanceof List<?> x && b instanceof List<?> y) {
            List<Object> l = new ArrayList<>(x);
            l.addAll(y);
            return l;
        }
        if (a instanceof Number && b instanceof Number) return arith('+', a, b);
        if (a == UNDEFINED || b == UNDEFINED) return str(a) + str(b);
        throw new TemplateException("cannot add " + str(a) + " and " + str(b));
    }

    private static Object arith(char op, Object a, Object b) {
        if (!(a instanceof Number x) || !(b instanceof Number y)) {
            throw new TemplateException("arithmetic on non-numbers: " + str(a) + " " + op + " " + str(b));
        }
        boolean ints = a instanceof Long && b instanceof Long;
        if (ints) {
            long l = x.longValue(), r = y.longValue();
            switch (op) {
                case '+': return l + r;
                case '-': return l - r;
                case '*': return l * r;
                case 'q': return Math.floorDiv(l, r);
                case '%': return Math.floorMod(l, r);
                case '/': return (double) l / r;
                default: break;
            }
        }
        double l = x.doubleValue(), r = y.doubleValue();
        return switch (op) {
            case '+' -> l + r;
            case '-' -> l - r;
            case '*' -> l * r;
            case 'q' -> Math.floor(l / r);
            case '%' -> l - r * Math.floor(l / r);
            default -> l / r;
        };
    }

    private static Object attribute(Object target, String name) {
        if (target instanceof Map<?, ?> m) return m.containsKey(name) ? m.get(name) : UNDEFINED;
        if (target == UNDEFINED || target == null) {
            throw new TemplateException("'" + str(target) + "' has no attribute '" + name + "'");
        }
        return UNDEFINED;
    }

    private static Object item(Object target, Object key) {
        if (target instanceof Map<?, ?> m) {
            Object k = key instanceof Number n && !m.containsKey(key) ? str(n) : key;
            return m.containsKey(k) ? m.get(k) : UNDEFINED;
        }
        if (target instanceof List<?> l && key instanceof Number n) {
            int i = n.intValue();
            if (i < 0) i += l.size();
            return i >= 0 && i < l.size() ? l.get(i) : UNDEFINED;
        }
        if (target instanceof String s && key instanceof Number n) {
            int i = n.intValue();
            if (i < 0) i += s.length();
            return i >= 0 && i < s.length() ? String.valueOf(s.charAt(i)) : UNDEFINED;
        }
        if (target == UNDEFINED) throw new TemplateException("undefined value has no item " + str(key));
        return UNDEFINED;
    }

    private static Object slice(Object target, Expr[] parts, Scope s) {
        List<Object> items = target instanceof String str ? new ArrayList<>(iterate(str)) : new ArrayList<>(iterate(target));
        int n = items.size();
        Integer step = parts[2] == null ? null : ((Number) parts[2].eval(s)).intValue();
        int st = step == null ? 1 : step;
        Integer start = parts[0] == null ? null : ((Number) parts[0].eval(s)).intValue();
        Integer stop = parts[1] == null ? null : ((Number) parts[1].eval(s)).intValue();
        List<Object> out = new ArrayList<>();
        if (st > 0) {
            int b = start == null ? 0 : start < 0 ? Math.max(0, start + n) : Math.min(start, n);
            int e = stop == null ? n : stop < 0 ? Math.max(0, stop + n) : Math.min(stop, n);
            for (int i = b; i < e; i += st) out.add(items.get(i));
        } else {
            int b = start == null ? n - 1 : start < 0 ? start + n : Math.min(start, n - 1);
            int e = stop == null ? -1 : stop < 0 ? Math.max(-1, stop + n) : stop;
            for (int i = b; i > e; i += st) out.add(items.get(i));
        }
        if (target instanceof String) {
            StringBuilder sb = new StringBuilder();
            out.forEach(o -> sb.append(o));
            return sb.toString();
        }
        return out;
    }

    private static Object method(Object target, String name, List<Object> args) {
        if (target instanceof String s) {
            String a0 = args.isEmpty() ? null : str(args.get(0));
            switch (name) {
                case "strip": return a0 == null ? s.strip() : stripChars(s, a0, true, true);
                case "lstrip": return a0 == null ? s.stripLeading() : stripChars(s, a0, true, false);
                case "rstrip": return a0 == null ? s.stripTrailing() : stripChars(s, a0, false, true);
                case "startswith": return s.startsWith(a0);
                case "endswith": return s.endsWith(a0);
                case "upper": return s.toUpperCase(java.util.Locale.ROOT);
                case "lower": return s.toLowerCase(java.util.Locale.ROOT);
                case "title": return title(s);
                case "capitalize": return s.isEmpty() ? s : s.substring(0, 1).toUpperCase() + s.substring(1).toLowerCase();
                case "replace": return s.replace(a0, str(args.get(1)));
                case "split": {
                    List<Object> parts = new ArrayList<>();
                    if (a0 == null) {
                        for (String x : s.strip().split("\\s+")) if (!x.isEmpty()) parts.add(x);
                    } else {
                        int from = 0;
                        for (int i = s.indexOf(a0); i >= 0; i = s.indexOf(a0, from)) {
                            parts.add(s.substring(from, i));
                            from = i + a0.length();
                        }
                        parts.add(s.substring(from));
                    }
                    return parts;
                }
                case "find": return (long) s.indexOf(a0);
                case "count": {
                    long c = 0;
                    for (int i = s.indexOf(a0); i >= 0 && !a0.isEmpty(); i = s.indexOf(a0, i + a0.length())) c++;
                    return c;
                }
                case "format": return s;
                default: break;
            }
        }
        if (target instanceof Map<?, ?> m) {
            switch (name) {
                case "items": {
                    List<Object> l = new ArrayList<>();
                    m.forEach((k, v) -> l.add(List.of(k, v == null ? UNDEFINED : v)));
                    return l;
                }
                case "keys": return new ArrayList<>(m.keySet());
                case "values": return new ArrayList<>(m.values());
                case "get": {
                    Object k = args.get(0);
                    return m.containsKey(k) ? m.get(k) : args.size() > 1 ? args.get(1) : null;
                }
                default: break;
            }
        }
        Object attr = attribute(target, name);
        if (attr instanceof Callable c) return c.call(args, Map.of());
        throw new TemplateException("unknown method " + name + "() on " + str(target));
    }

    private static String stripChars(String s, String chars, boolean left, boolean right) {
        int b = 0, e = s.length();
        if (left) while (b < e && chars.indexOf(s.charAt(b)) >= 0) b++;
        if (right) while (e > b && chars.indexOf(s.charAt(e - 1)) >= 0) e--;
        return s.substring(b, e);
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean start = true;
        for (char c : s.toCharArray()) {
            sb.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
            start = !Character.isLetter(c);
        }
        return sb.toString();
    }

    private static boolean test(String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> v != UNDEFINED;
            case "undefined" -> v == UNDEFINED;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> v instanceof Number;
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "mapping" -> v instanceof Map;
            case "iterable", "sequence" -> v instanceof Collection || v instanceof String || v instanceof Map;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "even" -> v instanceof Number n && n.longValue() % 2 == 0;
            case "odd" -> v instanceof Number n && n.longValue() % 2 != 0;
            case "equalto", "eq", "sameas" -> equal(v, args.get(0));
            case "ne" -> !equal(v, args.get(0));
            case "in" -> contains(args.get(0), v);
            default -> throw new TemplateException("unknown test '" + name + "'");
        };
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Object filter(String name, Object v, List<Object> args) {
        switch (name) {
            case "trim": return str(v).strip();
            case "length", "count": return (long) (v instanceof String s ? s.codePointCount(0, s.length())
                    : v instanceof Map<?, ?> m ? m.size() : iterate(v).size());
            case "upper": return str(v).toUpperCase(java.util.Locale.ROOT);
            case "lower": return str(v).toLowerCase(java.util.Locale.ROOT);
            case "capitalize": return method(str(v), "capitalize", List.of());
            case "title": return title(str(v));
            case "string": return str(v);
            case "int": return v instanceof Number n ? n.longValue() : Long.parseLong(str(v).strip());
            case "float": return v instanceof Number n ? n.doubleValue() : Double.parseDouble(str(v).strip());
            case "list": return new ArrayList<>(iterate(v));
            case "first": { List<?> l = new ArrayList<>(iterate(v)); return l.isEmpty() ? UNDEFINED : l.get(0); }
            case "last": { List<?> l = new ArrayList<>(iterate(v)); return l.isEmpty() ? UNDEFINED : l.get(l.size() - 1); }
            case "reverse": {
                if (v instanceof String s) return new StringBuilder(s).reverse().toString();
                List<Object> l = new ArrayList<>(iterate(v));
                java.util.Collections.reverse(l);
                return l;
            }
            case "join": {
                String sep = args.isEmpty() ? "" : str(args.get(0));
                List<String> parts = new ArrayList<>();
                for (Object o : iterate(v)) parts.add(str(o));
                return String.join(sep, parts);
            }
            case "default", "d": return v == UNDEFINED || (args.size() > 1 && truthy(args.get(1)) && !truthy(v))
                    ? (args.isEmpty() ? "" : args.get(0)) : v;
            case "replace": return str(v).replace(str(args.get(0)), str(args.get(1)));
            case "tojson": return toJson(v, args.isEmpty() ? null : ((Number) args.get(0)).intValue());
            case "selectattr", "rejectattr": {
                boolean select = name.equals("selectattr");
                String attr = str(args.get(0));
                List<Object> out = new ArrayList<>();
                for (Object o : iterate(v)) {
                    Object a = attribute(o, attr);
                    boolean ok = args.size() < 2 ? truthy(a) : test(str(args.get(1)), a, args.subList(2, args.size()));
                    if (ok == select) out.add(o);
                }
                return out;
            }
            case "select", "reject": {
                boolean select = name.equals("select");
                List<Object> out = new ArrayList<>();
                for (Object o : iterate(v)) {
                    boolean ok = args.isEmpty() ? truthy(o) : test(str(args.get(0)), o, args.subList(1, args.size()));
                    if (ok == select) out.add(o);
                }
                return out;
            }
            case "map": {
                List<Object> out = new ArrayList<>();
                for (Object o : iterate(v)) out.add(args.isEmpty() ? o : attribute(o, str(args.get(0))));
                return out;
            }
            case "items": return method(v, "items", List.of());
            case "indent": {
                String pad = " ".repeat(args.isEmpty() ? 4 : ((Number) args.get(0)).intValue());
                return str(v).replace("\n", "\n" + pad);
            }
            case "safe", "e", "escape": return v;
            default: throw new TemplateException("unknown filter '" + name + "'");
        }
    }

    /** Python's json.dumps(v, ensure_ascii=False), as transformers' tojson filter writes it. */
    static String toJson(Object v, Integer indent) {
        StringBuilder sb = new StringBuilder();
        json(v, indent, 0, sb);
        return sb.toString();
    }

    private static void json(Object v, Integer indent, int depth, StringBuilder sb) {
        if (v == null || v == UNDEFINED) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Number n) {
            sb.append(str(n));
        } else if (v instanceof String s) {
            try {
                sb.append(JSON.writeValueAsString(s));
            } catch (Exception e) {
                throw new TemplateException(e.getMessage());
            }
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (i++ > 0) sb.append(indent == null ? ", " : ",");
                newline(indent, depth + 1, sb);
                json(str(e.getKey()), null, 0, sb);
                sb.append(": ");
                json(e.getValue(), indent, depth + 1, sb);
            }
            if (!m.isEmpty()) newline(indent, depth, sb);
            sb.append('}');
        } else {
            Collection<?> c = iterate(v);
            sb.append('[');
            int i = 0;
            for (Object o : c) {
                if (i++ > 0) sb.append(indent == null ? ", " : ",");
                newline(indent, depth + 1, sb);
                json(o, indent, depth + 1, sb);
            }
            if (!c.isEmpty()) newline(indent, depth, sb);
            sb.append(']');
        }
    }

    private static void newline(Integer indent, int depth, StringBuilder sb) {
        if (indent != null) sb.append('\n').append(" ".repeat(indent * depth));
    }

    /** A callable from a Java function of positional arguments. */
    static Callable fn(Function<List<Object>, Object> f) {
        return (args, kwargs) -> f.apply(args);
    }
}
