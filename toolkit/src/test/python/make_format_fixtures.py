"""Makes the fixtures and references for MergeLab's checkpoint-format readers (org.mergelab.io).

What it makes, under toolkit/src/test/resources/reference/formats/ (all small, all made here from seeded values):
  float8.json            torch's float8_e4m3fn and float8_e5m2: the float value of each of the 256 codes, and the
                         code torch's .to(dtype) gives for every midpoint between neighbouring codes, one float32
                         step either side of it, and a few special inputs (0, infinities, NaN, huge, tiny).
  all-dtypes.safetensors one tensor per safetensors dtype (F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 I16 I8 U8 BOOL),
                         written by safetensors.torch.save_file;
  all-dtypes.json        per tensor: dtype, shape and torch's .float() of it as float32 bit patterns.
  torch/state_dict.bin   torch.save of an OrderedDict holding every dtype a .bin can hold, a transposed view, a
                         slice at a storage offset, two names sharing one storage, an nn.Parameter, a 0-d tensor,
                         an empty tensor, a float8 tensor (_rebuild_tensor_v3) and a _metadata attribute;
  torch/state_dict.json  per tensor: dtype, shape, float32 bit patterns of torch's .float().
  torch/zip64.bin        state_dict.bin's records rewritten by Python's zipfile with force_zip64 (ZIP64 records
                         on a small file), to test ZIP64 parsing without a 4 GiB file.
  torch/sharded/         a tiny LlamaForCausalLM-shaped state dict (seeded) saved as two torch.save shards plus
                         pytorch_model.bin.index.json and config.json, exactly as transformers lays out a sharded
                         .bin checkpoint; torch/sharded.safetensors holds the same tensors via safetensors, for
                         comparison.
  hostile/*.bin          pickles that try to run code or misuse torch's rebuild functions, each inside a torch.save
                         zip in place of data.pkl; hostile/corpus.json says, per file, what it tries and the words
                         MergeLab's refusal must contain. Every one is first checked to be refused by
                         torch.load(weights_only=True) too (a file torch accepts would not be hostile).
                         None is ever unpickled by Python here.

Exact command (from the repository root):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /work/venv-ref/bin/python \\
      toolkit/src/test/python/make_format_fixtures.py
"""
import collections
import io
import json
import pickle
import struct
import sys
import zipfile
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

OUT = mergelab_ref.REFERENCE / "formats"


def bits(t: torch.Tensor) -> list:
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in t.float().flatten().tolist()]


def float8_reference() -> dict:
    out = {"torch": torch.__version__}
    for name, dt in [("e4m3fn", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2)]:
        codes = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(dt)
        values = codes.float()
        decode = bits(values)
        finite = sorted({v for v in values.tolist() if v == v and abs(v) != float("inf")})
        probes = []
        for a, b in zip(finite, finite[1:]):
            mid = torch.tensor([(a + b) / 2], dtype=torch.float64).float()
            probes.append(mid)
            probes.append(torch.nextafter(mid, torch.tensor([float("inf")])))
            probes.append(torch.nextafter(mid, torch.tensor([float("-inf")])))
        top = max(finite)
        for v in [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e30, -1e30, 1e-30, -1e-30, top, top * 1.01,
                  top * 1.07, top * 1.2, 1.0, -1.0, 3.0e-3, 0.1, 240.0, 464.0, 465.0, 479.0, 480.0, 57344.0, 61439.0,
                  61440.0, 65536.0]:
            probes.append(torch.tensor([v], dtype=torch.float32))
        x = torch.cat(probes)
        enc = x.to(dt).view(torch.uint8).tolist()
        out[name] = {"decode_bits": decode, "encode": [[b, c] for b, c in zip(bits(x), enc)]}
    return out


def all_dtypes() -> dict:
    g = torch.Generator().manual_seed(5)
    base = torch.randn(3, 5, generator=g, dtype=torch.float64) * 3
    t = collections.OrderedDict()
    t["f64"] = base
    t["f32"] = base.float()
    t["f16"] = base.half()
    t["bf16"] = base.bfloat16()
    t["f8_e4m3"] = base.to(torch.float8_e4m3fn)
    t["f8_e5m2"] = base.to(torch.float8_e5m2)
    t["i64"] = torch.tensor([[0, -1, 2**40 + 1, -(2**53) - 3, 7]], dtype=torch.int64)
    t["i32"] = torch.tensor([2**31 - 1, -(2**31), 16777217, 3], dtype=torch.int32)
    t["i16"] = torch.tensor([-32768, 32767, 0], dtype=torch.int16)
    t["i8"] = torch.tensor([-128, 127, -1], dtype=torch.int8)
    t["u8"] = torch.tensor([0, 255, 128], dtype=torch.uint8)
    t["bool"] = torch.tensor([True, False, True])
    save_file(t, str(OUT / "all-dtypes.safetensors"))
    return {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "float_bits": bits(v)}
            for k, v in t.items()}


def torch_state_dict() -> dict:
    g = torch.Generator().manual_seed(7)
    sd = collections.OrderedDict()
    w = torch.randn(4, 6, generator=g)
    sd["weight"] = w
    sd["weight_t"] = w.t()  # a strided view of the same storage
    sd["row2"] = w[2]  # a view at storage offset 12
    sd["tied"] = w  # the same tensor under a second name
    sd["param"] = torch.nn.Parameter(torch.randn(3, generator=g))
    sd["f16"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(5, generator=g).bfloat16()
    sd["f64"] = torch.randn(2, 2, generator=g, dtype=torch.float64)
    sd["f8"] = torch.randn(6, generator=g).to(torch.float8_e4m3fn)
    sd["i64"] = torch.tensor([1, -2, 2**40 + 1])
    sd["i32"] = torch.tensor([5, -6], dtype=torch.int32)
    sd["i8"] = torch.tensor([-7, 8], dtype=torch.int8)
    sd["u8"] = torch.tensor([200, 1], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 4)
    sd._metadata = collections.OrderedDict({"": {"version": 1}, "layer": {"version": 2}})
    (OUT / "torch").mkdir(exist_ok=True)
    torch.save(sd, str(OUT / "torch" / "state_dict.bin"))
    back = torch.load(str(OUT / "torch" / "state_dict.bin"), weights_only=True)
    assert all(torch.equal(back[k].float(), sd[k].detach().float()) for k in sd), "torch round trip"
    return {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "float_bits": bits(v.detach())}
            for k, v in sd.items()}


def zip64_copy():
    src = zipfile.ZipFile(OUT / "torch" / "state_dict.bin")
    with zipfile.ZipFile(OUT / "torch" / "zip64.bin", "w", compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            with dst.open(info.filename, "w", force_zip64=True) as f:
                f.write(src.read(info.filename))
    back = torch.load(str(OUT / "torch" / "zip64.bin"), weights_only=True)
    assert torch.equal(back["weight"], torch.load(str(OUT / "torch" / "state_dict.bin"), weights_only=True)["weight"])


def sharded() -> None:
    """Two torch.save shards and an index, the layout transformers writes with max_shard_size."""
    g = torch.Generator().manual_seed(11)
    h, inter, vocab, layers = 16, 24, 32, 2
    sd = collections.OrderedDict()
    sd["model.embed_tokens.weight"] = torch.randn(vocab, h, generator=g)
    for i in range(layers):
        p = f"model.layers.{i}."
        sd[p + "self_attn.q_proj.weight"] = torch.randn(h, h, generator=g)
        sd[p + "self_attn.k_proj.weight"] = torch.randn(h // 2, h, generator=g)
        sd[p + "self_attn.v_proj.weight"] = torch.randn(h // 2, h, generator=g)
        sd[p + "self_attn.o_proj.weight"] = torch.randn(h, h, generator=g)
        sd[p + "mlp.gate_proj.weight"] = torch.randn(inter, h, generator=g)
        sd[p + "mlp.up_proj.weight"] = torch.randn(inter, h, generator=g)
        sd[p + "mlp.down_proj.weight"] = torch.randn(h, inter, generator=g)
        sd[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
        sd[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
    sd["model.norm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
    sd["lm_head.weight"] = torch.randn(vocab, h, generator=g)
    sd = collections.OrderedDict((k, v.bfloat16()) for k, v in sd.items())
    folder = OUT / "torch" / "sharded"
    folder.mkdir(parents=True, exist_ok=True)
    names = list(sd)
    shards = [names[:1 + 9], names[1 + 9:]]
    weight_map = {}
    for i, part in enumerate(shards):
        fname = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save(collections.OrderedDict((k, sd[k]) for k in part), str(folder / fname))
        weight_map.update({k: fname for k in part})
    total = sum(v.numel() * v.element_size() for v in sd.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2) + "\n")
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": h,
              "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": 4,
              "num_key_value_heads": 2, "vocab_size": vocab, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
              "torch_dtype": "bfloat16"}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file(dict(sd), str(OUT / "torch" / "sharded.safetensors"))


# ---- hostile pickles, written opcode by opcode so that nothing here ever unpickles them ----

def op_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_str(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def storage_tuple(key: str = "0", numel: int = 4) -> bytes:
    return (b"(" + op_str("storage") + op_global("torch", "FloatStorage") + op_str(key) + op_str("cpu")
            + b"K" + bytes([numel]) + b"tQ")


def tensor_call(storage: bytes) -> bytes:
    return (op_global("torch._utils", "_rebuild_tensor_v2") + b"(" + storage + b"K\x00" + b"K\x04\x85" + b"K\x01\x85"
            + b"\x89" + op_global("collections", "OrderedDict") + b")R" + b"tR")


def state_dict(entries: bytes) -> bytes:
    return b"\x80\x02" + op_global("collections", "OrderedDict") + b")R(" + entries + b"u."


HOSTILE = [
    ("os_system", "os.system('echo pwned') through GLOBAL + REDUCE, as pickle writes it on Linux",
     b"\x80\x02" + op_global("posix", "system") + op_str("echo pwned") + b"\x85R.", ["posix.system"]),
    ("builtins_eval", "eval of a string that imports os",
     b"\x80\x02" + op_global("builtins", "eval") + op_str("__import__('os').system('echo pwned')") + b"\x85R.",
     ["builtins.eval"]),
    ("nested_reduce", "a state dict whose tensor storage is getattr(__import__('os'), 'system')('echo pwned')",
     state_dict(op_str("w") + op_global("torch._utils", "_rebuild_tensor_v2") + b"("
                + op_global("builtins", "getattr") + b"(" + op_global("builtins", "__import__") + op_str("os")
                + b"\x85R" + op_str("system") + b"tR" + op_str("echo pwned") + b"\x85R"
                + b"K\x00K\x04\x85K\x01\x85\x89" + op_global("collections", "OrderedDict") + b")RtR"),
     ["builtins.getattr"]),
    ("stack_global_popen", "subprocess.Popen imported with STACK_GLOBAL (protocol 4)",
     b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00" + b"\x8c\x0asubprocess\x94\x8c\x05Popen\x94\x93\x94"
     + b"\x8c\x04echo\x94\x85\x94R\x94.", ["subprocess.Popen"]),
    ("inst_opcode", "os.system through the protocol-0 INST opcode",
     b"(S'echo pwned'\nios\nsystem\n.", ["os.system", "INST"]),
    ("newobj", "a subprocess.Popen object built with NEWOBJ (cls.__new__(cls, *args))",
     b"\x80\x02" + op_global("subprocess", "Popen") + op_str("echo") + b"\x85\x81.", ["subprocess.Popen"]),
    ("ext_registry", "an import through the copyreg extension registry (EXT1)",
     b"\x80\x02\x82\x01)R.", ["extension registry"]),
    ("storage_class_called", "a storage class called like a function, FloatStorage('echo')",
     b"\x80\x02" + op_global("torch", "FloatStorage") + op_str("echo") + b"\x85R.", ["torch.FloatStorage", "not a function"]),
    ("rebuild_on_string", "_rebuild_tensor_v2 given a string where the storage belongs",
     state_dict(op_str("w") + op_global("torch._utils", "_rebuild_tensor_v2") + b"(" + op_str("/etc/passwd")
                + b"K\x00K\x04\x85K\x01\x85\x89" + op_global("collections", "OrderedDict") + b")RtR"),
     ["instead of a storage"]),
    ("persid_not_storage", "a persistent id that is not a tensor storage",
     b"\x80\x02(" + op_str("module") + op_str("os") + op_str("system") + op_str("x") + b"K\x01tQ.",
     ["persistent object"]),
    ("storage_out_of_range", "a tensor that reads past the end of its storage (4 floats stored, 400 claimed)",
     state_dict(op_str("w") + op_global("torch._utils", "_rebuild_tensor_v2") + b"(" + storage_tuple()
                + b"K\x00M\x90\x01\x85K\x01\x85\x89" + op_global("collections", "OrderedDict") + b")RtR"),
     ["reaches element 399"]),
    ("truncated", "a state dict pickle cut off before STOP",
     state_dict(op_str("w") + tensor_call(storage_tuple()))[:-5], ["truncated"]),
    ("huge_length", "a string that claims 4 GB",
     b"\x80\x02X\xf0\xff\xff\xff" + b"abc" + b".", ["4294967280"]),
    ("memo_missing", "a memo read of an entry never stored", b"\x80\x02h\x07.", ["memo entry 7"]),
]


def hostile() -> list:
    folder = OUT / "hostile"
    folder.mkdir(exist_ok=True)
    corpus = []
    for name, what, pkl, words in HOSTILE:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pkl)
            z.writestr("archive/byteorder", "little")
            z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
            z.writestr("archive/version", "3\n")
        path = folder / f"{name}.bin"
        path.write_bytes(buf.getvalue())
        try:
            torch.load(str(path), weights_only=True)
            refused_by_torch = False
        except Exception as e:  # noqa: BLE001 - any refusal counts
            refused_by_torch = type(e).__name__
        assert refused_by_torch, f"torch.load(weights_only=True) accepted {name}"
        corpus.append({"file": path.name, "what": what, "message_contains": words,
                       "torch_weights_only_refuses_with": refused_by_torch})
    return corpus


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "float8.json").write_text(json.dumps(float8_reference()) + "\n")
    (OUT / "all-dtypes.json").write_text(json.dumps(all_dtypes(), indent=1) + "\n")
    ref = torch_state_dict()
    (OUT / "torch" / "state_dict.json").write_text(json.dumps(ref, indent=1) + "\n")
    zip64_copy()
    sharded()
    corpus = hostile()
    (OUT / "hostile" / "corpus.json").write_text(json.dumps({"torch": torch.__version__, "files": corpus}, indent=1)
                                                + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
