package org.mergelab.model.tokenizer;

import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model's chat template (tokenizer_config.json's {@code chat_template} or chat_template.jinja), rendered as
 * transformers' {@code apply_chat_template(messages, tokenize=False)} renders it, with the same globals:
 * messages, add_generation_prompt, bos_token, eos_token, raise_exception, strftime_now and namespace.
 *
 * <pre>{@code
 * String prompt = tokenizer.chatTemplate().orElseThrow()
 *         .render(List.of(ChatTemplate.message("user", "Tell me a story.")), true);
 * }</pre>
 */
public final class ChatTemplate {
    private final Jinja template;
    private final String source;
    private final String bosToken, eosToken;

    private ChatTemplate(Jinja template, String source, String bosToken, String eosToken) {
        this.template = template;
        this.source = source;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /** Parses a template; {@code where} names it in errors. */
    public static ChatTemplate of(String template, String bosToken, String eosToken, String where) {
        try {
            return new ChatTemplate(Jinja.parse(template, where), template, bosToken, eosToken);
        } catch (Jinja.TemplateException e) {
            throw new TokenizerException("chat template of " + where + ": " + e.getMessage(), e);
        }
    }

    /** A message as templates expect one: {@code {"role": role, "content": content}}. */
    public static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    /** The conversation as text, ending with the assistant's turn header when {@code addGenerationPrompt}. */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** {@link #render(List, boolean)} with extra variables (tools, documents, custom flags). */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("messages", copy(messages));
        g.put("add_generation_prompt", addGenerationPrompt);
        g.put("bos_token", bosToken == null ? "" : bosToken);
        g.put("eos_token", eosToken == null ? "" : eosToken);
        g.put("raise_exception", Jinja.fn(args -> {
            throw new TokenizerException("chat template: " + Jinja.str(args.isEmpty() ? "" : args.get(0)));
        }));
        g.put("strftime_now", Jinja.fn(args -> strftime(Jinja.str(args.get(0)))));
        g.put("namespace", (Jinja.Callable) (args, kwargs) -> {
            Jinja.Namespace ns = new Jinja.Namespace();
            ns.putAll(kwargs);
            return ns;
        });
        g.put("range", Jinja.fn(args -> {
            long from = args.size() > 1 ? ((Number) args.get(0)).longValue() : 0;
            long to = ((Number) args.get(args.size() > 1 ? 1 : 0)).longValue();
            List<Object> r = new ArrayList<>();
            for (long i = from; i < to; i++) r.add(i);
            return r;
        }));
        g.putAll(extra);
        try {
            return template.render(g);
        } catch (Jinja.TemplateException e) {
            throw new TokenizerException("chat template: " + e.getMessage(), e);
        }
    }

    /** Maps and lists copied, Java numbers widened to what templates compare (long, double). */
    private static Object copy(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), copy(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(copy(o));
            return out;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) return ((Number) v).longValue();
        if (v instanceof Float f) return f.doubleValue();
        return v;
    }

    /** The few strftime codes templates use for today's date ("%d %b %Y"). */
    private static String strftime(String format) {
        LocalDate d = LocalDate.now();
        return format.replace("%d", String.format("%02d", d.getDayOfMonth()))
                .replace("%b", d.format(DateTimeFormatter.ofPattern("MMM", Locale.ENGLISH)))
                .replace("%B", d.format(DateTimeFormatter.ofPattern("MMMM", Locale.ENGLISH)))
                .replace("%Y", Integer.toString(d.getYear()))
                .replace("%m", String.format("%02d", d.getMonthValue()));
    }

    /** The template's source text. */
    public String source() { return source; }

    @Override
    public String toString() { return "ChatTemplate[" + source.length() + " chars]"; }
}
