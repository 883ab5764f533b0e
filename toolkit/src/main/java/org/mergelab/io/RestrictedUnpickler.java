package org.mergelab.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the pickle inside a torch.save archive ({@code data.pkl}) as data, never as code. Python's pickle is a
 * small stack machine whose GLOBAL and REDUCE opcodes import and call arbitrary functions (which is how a hostile
 * checkpoint runs {@code os.system}); this reader knows only the handful of names a state dict of tensors uses
 * (OrderedDict, torch's tensor-rebuild functions, storage classes and dtypes) and gives each of them a fixed meaning
 * here. Any other import, any object-construction opcode, and any call of something that is not one of those
 * functions is refused with an error naming it, before anything else happens.
 */
final class RestrictedUnpickler {
    /** A tuple (kept apart from lists because torch's functions take tuples). */
    record Tuple(List<Object> items) {
        Object get(int i) { return items.get(i); }

        int size() { return items.size(); }
    }

    /** A name the pickle imported; only the allow-listed ones ever exist. */
    record Global(String module, String name) {
        @Override
        public String toString() { return module + "." + name; }
    }

    /** A storage a tensor views: its key in the archive ({@code data/KEY}), element type and length. */
    record StorageRef(String key, DType dtype, boolean untyped, long numel) {}

    /** A tensor: a strided view of a storage (offsets and strides in elements). */
    record TensorRef(StorageRef storage, DType dtype, long offset, long[] shape, long[] stride) {}

    /** torch's legacy typed storage classes, by the element type they hold. */
    private static final Map<String, DType> STORAGE_CLASSES = Map.ofEntries(
            Map.entry("DoubleStorage", DType.F64), Map.entry("FloatStorage", DType.F32),
            Map.entry("HalfStorage", DType.F16), Map.entry("BFloat16Storage", DType.BF16),
            Map.entry("LongStorage", DType.I64), Map.entry("IntStorage", DType.I32),
            Map.entry("ShortStorage", DType.I16), Map.entry("CharStorage", DType.I8),
            Map.entry("ByteStorage", DType.U8), Map.entry("BoolStorage", DType.BOOL));
    private static final Map<String, DType> TORCH_DTYPES = Map.ofEntries(
            Map.entry("float64", DType.F64), Map.entry("float32", DType.F32), Map.entry("float16", DType.F16),
            Map.entry("bfloat16", DType.BF16), Map.entry("float8_e4m3fn", DType.F8_E4M3),
            Map.entry("float8_e5m2", DType.F8_E5M2), Map.entry("int64", DType.I64), Map.entry("int32", DType.I32),
            Map.entry("int16", DType.I16), Map.entry("int8", DType.I8), Map.entry("uint8", DType.U8),
            Map.entry("bool", DType.BOOL));
    private static final Set<String> REBUILD_FUNCTIONS = Set.of("_rebuild_tensor", "_rebuild_tensor_v2",
            "_rebuild_tensor_v3", "_rebuild_parameter", "_rebuild_parameter_with_state");
    private static final Object MARK = new Object() {
        @Override
        public String toString() { return "MARK"; }
    };
    /** More memo entries than any state dict needs; a guard against a pickle that fills memory. */
    private static final int MAX_MEMO = 1 << 24;

    private final String where;
    private final ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private RestrictedUnpickler(String where, byte[] bytes) {
        this.where = where;
        this.in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Unpickles {@code bytes}; {@code where} names the file and record in every error. */
    static Object load(String where, byte[] bytes) {
        RestrictedUnpickler u = new RestrictedUnpickler(where, bytes);
        try {
            return u.run();
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new CheckpointException(where + ": the pickle ends in the middle of an instruction (truncated or corrupt)");
        }
    }

    private CheckpointException refuse(String what) {
        return new CheckpointException(where + ": refused to load: " + what + ". A checkpoint may only hold tensors;"
                + " MergeLab never runs code from a pickle (if you trust this file, convert it to safetensors in Python)");
    }

    private CheckpointException corrupt(String what) {
        return new CheckpointException(where + ": corrupt pickle at byte " + in.position() + ": " + what);
    }

    private Object run() {
        while (true) {
            if (!in.hasRemaining()) throw corrupt("no STOP instruction before the end");
            int op = in.get() & 0xFF;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = in.get() & 0xFF;
                    if (proto > 5) throw corrupt("pickle protocol " + proto + " is unknown");
                }
                case 0x95 -> in.getLong(); // FRAME: a length hint only
                case '.' -> { // STOP
                    Object result = pop();
                    if (!stack.isEmpty()) throw corrupt("values left on the stack at STOP");
                    return result;
                }
                case '(' -> { marks.add(stack.size()); stack.add(MARK); }
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> push(peek());
                case '}' -> push(new LinkedHashMap<Object, Object>());
                case ']' -> push(new ArrayList<Object>());
                case ')' -> push(new Tuple(List.of()));
                case 't' -> push(new Tuple(popMark()));
                case 0x85 -> push(new Tuple(List.of(pop())));
                case 0x86 -> { Object b = pop(), a = pop(); push(new Tuple(List.of(a, b))); }
                case 0x87 -> { Object c = pop(), b = pop(), a = pop(); push(new Tuple(List.of(a, b, c))); }
                case 'l' -> push(new ArrayList<>(popMark()));
                case 'd' -> { Map<Object, Object> m = new LinkedHashMap<>(); putAll(m, popMark()); push(m); }
                case 'a' -> { Object v = pop(); list(peek()).add(v); }
                case 'e' -> { List<Object> items = popMark(); list(peek()).addAll(items); }
                case 's' -> { Object v = pop(), k = pop(); dict(peek()).put(key(k), v); }
                case 'u' -> { List<Object> items = popMark(); putAll(dict(peek()), items); }
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) in.getInt());
                case 'K' -> push((long) (in.get() & 0xFF));
                case 'M' -> push((long) (in.getShort() & 0xFFFF));
                case 0x8a -> push(longOf(in.get() & 0xFF));
                case 0x8b -> push(longOf(length(in.getInt() & 0xFFFFFFFFL)));
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // big-endian
                case 'X' -> push(string(length(in.getInt() & 0xFFFFFFFFL)));
                case 0x8c -> push(string(in.get() & 0xFF));
                case 0x8d -> push(string(length(in.getLong())));
                case 'T' -> push(latin1(length(in.getInt() & 0xFFFFFFFFL)));
                case 'U' -> push(latin1(in.get() & 0xFF));
                case 'B' -> push(bytes(length(in.getInt() & 0xFFFFFFFFL)));
                case 'C' -> push(bytes(in.get() & 0xFF));
                case 'q' -> memoPut(in.get() & 0xFF);
                case 'r' -> memoPut(in.getInt() & 0xFFFFFFFFL);
                case 0x94 -> memoPut(memo.size());
                case 'h' -> push(memoGet(in.get() & 0xFF));
                case 'j' -> push(memoGet(in.getInt() & 0xFFFFFFFFL));
                case 'p' -> memoPut(Long.parseLong(line()));
                case 'g' -> push(memoGet(Long.parseLong(line())));
                case 'I' -> push(textInt(line()));
                case 'S' -> push(quoted(line()));
                case 'V' -> push(line());
                case 'F' -> push(textFloat(line()));
                case 'L' -> push(textInt(line().replaceFirst("L$", "")));
                case 'c' -> { String module = line(); push(global(module, line())); }
                case 0x93 -> { Object name = pop(), module = pop(); push(stackGlobal(module, name)); }
                case 'R' -> { Object args = pop(), f = pop(); push(reduce(f, args)); }
                case 'b' -> { Object state = pop(); build(peek(), state); }
                case 'Q' -> push(persistentLoad(pop()));
                case 'i' -> { String module = line(); throw refuse("the pickle creates an instance of " + module + "."
                        + line() + " (INST)"); }
                case 'o' -> throw refuse("the pickle builds an object with OBJ");
                case 0x81, 0x92 -> throw refuse("the pickle builds an object with NEWOBJ");
                case 0x82, 0x83, 0x84 -> throw refuse("the pickle imports through the copyreg extension registry");
                case 'P' -> throw refuse("the pickle uses a text persistent id, which torch.save never writes");
                default -> throw corrupt(String.format("instruction 0x%02x is not used by torch.save", op));
            }
        }
    }

    private void push(Object o) { stack.add(o); }

    private Object pop() {
        if (stack.isEmpty()) throw corrupt("stack underflow");
        Object o = stack.remove(stack.size() - 1);
        if (o == MARK) throw corrupt("a MARK where a value was expected");
        return o;
    }

    private Object peek() {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) throw corrupt("stack underflow");
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) throw corrupt("no MARK to pop to");
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof List<?> l) return (List<Object>) l;
        throw corrupt("APPEND to " + describe(o) + ", which is not a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw corrupt("SETITEM on " + describe(o) + ", which is not a dict");
    }

    private Object key(Object k) {
        if (k == null || k instanceof String || k instanceof Long || k instanceof Boolean || k instanceof Double
                || k instanceof Tuple) {
            return k;
        }
        throw corrupt("a dict key of type " + describe(k));
    }

    private void putAll(Map<Object, Object> m, List<Object> items) {
        if (items.size() % 2 != 0) throw corrupt("odd number of items for a dict");
        for (int i = 0; i < items.size(); i += 2) m.put(key(items.get(i)), items.get(i + 1));
    }

    private int length(long n) {
        if (n < 0 || n > in.remaining()) {
            throw corrupt("a length of " + Long.toUnsignedString(n) + " bytes, but only " + in.remaining() + " remain");
        }
        return (int) n;
    }

    private byte[] bytes(int n) {
        length(n);
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private String string(int n) { return new String(bytes(n), StandardCharsets.UTF_8); }

    private String latin1(int n) { return new String(bytes(n), StandardCharsets.ISO_8859_1); }

    private String line() {
        int start = in.position();
        while (in.hasRemaining()) {
            if (in.get() == '\n') {
                return new String(in.array(), start, in.position() - start - 1, StandardCharsets.UTF_8);
            }
        }
        throw corrupt("unterminated text argument");
    }

    private Object textInt(String s) {
        if (s.equals("00")) return Boolean.FALSE;
        if (s.equals("01")) return Boolean.TRUE;
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw corrupt("'" + s + "' is not an integer");
        }
    }

    private String quoted(String s) {
        if (s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0)) {
            return s.substring(1, s.length() - 1);
        }
        throw corrupt("STRING argument " + s + " is not quoted");
    }

    private double textFloat(String s) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw corrupt("'" + s + "' is not a number");
        }
    }

    /** Two's-complement little-endian integer of {@code n} bytes (LONG1/LONG4); tensors never need more than 64 bits. */
    private long longOf(int n) {
        if (n > 8) throw corrupt("an integer of " + n + " bytes");
        long v = 0;
        for (int i = 0; i < n; i++) v |= (long) (in.get() & 0xFF) << (8 * i);
        if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) v |= -1L << (8 * n);
        return v;
    }

    private void memoPut(long index) {
        if (memo.size() >= MAX_MEMO) throw corrupt("more than " + MAX_MEMO + " memo entries");
        memo.put(index, peek());
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) throw corrupt("memo entry " + index + " was never stored");
        return memo.get(index);
    }

    private Object stackGlobal(Object module, Object name) {
        if (!(module instanceof String m) || !(name instanceof String n)) {
            throw corrupt("STACK_GLOBAL needs two strings");
        }
        return global(m, n);
    }

    /** The allow-list: anything else a pickle imports is refused here, by name. */
    private Object global(String module, String name) {
        boolean known = switch (module) {
            case "collections" -> name.equals("OrderedDict");
            case "torch._utils" -> REBUILD_FUNCTIONS.contains(name);
            case "torch" -> STORAGE_CLASSES.containsKey(name) || TORCH_DTYPES.containsKey(name);
            case "torch.storage" -> name.equals("UntypedStorage");
            default -> false;
        };
        if (!known) {
            throw refuse("the pickle imports " + module + "." + name + ", which is not part of a tensor checkpoint");
        }
        return new Global(module, name);
    }

    private Object reduce(Object f, Object args) {
        if (!(f instanceof Global g)) {
            throw refuse("the pickle calls " + describe(f) + ", which is not a function");
        }
        if (!(args instanceof Tuple a)) throw corrupt("REDUCE arguments are not a tuple");
        String fn = g.toString();
        switch (fn) {
            case "collections.OrderedDict" -> {
                if (a.size() != 0) throw refuse("the pickle calls OrderedDict with arguments");
                return new LinkedHashMap<Object, Object>();
            }
            case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2" -> {
                if (a.size() < 4) throw corrupt(fn + " needs at least 4 arguments, got " + a.size());
                StorageRef s = storage(a.get(0), fn);
                if (s.untyped()) throw corrupt(fn + " on an untyped storage");
                return tensor(s, s.dtype(), a, fn);
            }
            case "torch._utils._rebuild_tensor_v3" -> {
                if (a.size() < 7) throw corrupt(fn + " needs 7 arguments, got " + a.size());
                StorageRef s = storage(a.get(0), fn);
                if (!(a.get(6) instanceof Global d) || !TORCH_DTYPES.containsKey(d.name()) || !d.module().equals("torch")) {
                    throw corrupt(fn + "'s dtype argument is " + describe(a.get(6)));
                }
                return tensor(s, TORCH_DTYPES.get(d.name()), a, fn);
            }
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                if (a.size() < 1 || !(a.get(0) instanceof TensorRef t)) {
                    throw refuse(fn + " applied to something other than a tensor");
                }
                return t;
            }
            default -> throw refuse("the pickle calls " + fn + ", which is a type, not a function");
        }
    }

    private StorageRef storage(Object o, String fn) {
        if (o instanceof StorageRef s) return s;
        throw refuse(fn + " applied to " + describe(o) + " instead of a storage");
    }

    private TensorRef tensor(StorageRef s, DType dtype, Tuple a, String fn) {
        if (!(a.get(1) instanceof Long offset) || offset < 0) throw corrupt(fn + ": storage offset " + a.get(1));
        long[] shape = longs(a.get(2), fn + " size");
        long[] stride = longs(a.get(3), fn + " stride");
        if (shape.length != stride.length) throw corrupt(fn + ": size and stride differ in length");
        return new TensorRef(s, dtype, offset, shape, stride);
    }

    private long[] longs(Object o, String what) {
        if (!(o instanceof Tuple t)) throw corrupt(what + " is " + describe(o) + ", not a tuple");
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(t.get(i) instanceof Long v) || v < 0) throw corrupt(what + " holds " + describe(t.get(i)));
            out[i] = v;
        }
        return out;
    }

    /** BUILD sets an object's state: allowed only for the {@code _metadata} attribute state dicts carry. */
    private void build(Object target, Object state) {
        if (target instanceof Map<?, ?> && (state instanceof Map<?, ?> || state == null)) return;
        throw refuse("the pickle sets the state of " + describe(target) + " (BUILD)");
    }

    /** torch.save's persistent ids: ('storage', storage type, key, location, size). */
    private Object persistentLoad(Object pid) {
        if (!(pid instanceof Tuple t) || t.size() < 5 || !"storage".equals(t.get(0))) {
            throw refuse("the pickle loads the persistent object " + describe(pid) + ", which is not a tensor storage");
        }
        if (!(t.get(1) instanceof Global type) || !(t.get(2) instanceof String key) || !(t.get(4) instanceof Long n)
                || n < 0) {
            throw corrupt("malformed storage id " + describe(pid));
        }
        if (type.module().equals("torch.storage")) return new StorageRef(key, DType.U8, true, n);
        DType d = STORAGE_CLASSES.get(type.name());
        if (d == null || !type.module().equals("torch")) throw corrupt("storage of type " + type);
        return new StorageRef(key, d, false, n);
    }

    private static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof Global g) return g.toString();
        if (o instanceof String s) return "'" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
        if (o instanceof Tuple t) return "a tuple of " + t.size();
        if (o instanceof TensorRef) return "a tensor";
        if (o instanceof StorageRef) return "a storage";
        return o.getClass().getSimpleName();
    }
}
