#!/usr/bin/env bash
# memshim's GPU tracking on a real GPU (docs/gpu.md), in one run of under 8 minutes:
#   0. preflight: GPU, NVML, python3 with a CUDA torch, sentence-transformers, tokenizers,
#      transformers, the build tools; anything missing stops the run here, named;
#   1. build libmemshim.so (tests off) into OUT/build;
#   2. (a) model load/unload cycles on the GPU under PyTorch's native allocator, with
#      expandable_segments:True, and with backend:cudaMallocAsync: per step the device bytes memshim
#      tracks, the pool reserve, NVML's figure for the process, the residual and the top call site
#      (from a report taken with the report signal);
#   3. (b) seed 000 for real: a tiny SentenceTransformer built here (random weights, a WordPiece
#      tokenizer trained on generated text) encodes batches of 200 strings of 12,345 characters;
#      RSS per batch under glibc, jemalloc (when libjemalloc.so.2 is installed) and memshim, and the
#      call site memshim finds growing.
# Everything is printed and kept in OUT (default /tmp/memshim-device-check): device-check.log is
# what goes into docs.
#
# Usage: scripts/device-check.sh [--out DIR] [--lib PATH] [--selftest]
#   --lib PATH   use this libmemshim.so instead of building (a machine without the build deps)
#   --selftest   no GPU needed: checks the script itself; (a) runs its driver against the fake CUDA
#                libraries of the test build (BUILD_DIR, default build), (b) runs only where
#                sentence-transformers, transformers and tokenizers are installed (else skipped, said)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/bench.sh # bench_jemalloc_lib (functions only)
SRC=$(pwd)
OUT=/tmp/memshim-device-check
LIB=""
SELFTEST=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift ;;
    --lib) LIB=$(realpath "$2"); shift ;;
    --selftest) SELFTEST=1 ;;
    *) echo "usage: scripts/device-check.sh [--out DIR] [--lib PATH] [--selftest]" >&2; exit 2 ;;
  esac
  shift
done
PY=${PYTHON:-python3}
mkdir -p "$OUT"
LOG=$OUT/device-check.log
: >"$LOG"
START=$(date +%s)
say() { echo "$*" | tee -a "$LOG"; }
die() { say "device-check: FAIL: $*"; exit 1; }
elapsed() { echo $(($(date +%s) - START)); }

# ---- 0. preflight ----
say "== memshim device check, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm)"
say "   source $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SRC" diff --quiet 2>/dev/null || echo ' (modified)')"
missing=()
command -v "$PY" >/dev/null || missing+=("$PY")
if [ $SELFTEST = 0 ]; then
  command -v nvidia-smi >/dev/null || missing+=("nvidia-smi (the NVIDIA driver)")
  if [ -z "$LIB" ]; then
    for t in cmake make cc pkg-config; do command -v $t >/dev/null || missing+=("$t"); done
    pkg-config --exists jansson 2>/dev/null || missing+=("libjansson-dev")
    ls /usr/lib/*/libjemalloc_pic.a /usr/lib/libjemalloc_pic.a >/dev/null 2>&1 || missing+=("libjemalloc-dev (libjemalloc_pic.a)")
  fi
fi
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (no network here: install them first, or pass --lib)"
if [ $SELFTEST = 0 ]; then
  nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version --format=csv,noheader 2>&1 | sed 's/^/   gpu: /' | tee -a "$LOG"
  "$PY" - <<'PY' 2>&1 | tee -a "$LOG" || die "python3 cannot use the GPU (above)"
import ctypes, sys
import torch
ok = torch.cuda.is_available()
print("   torch %s, CUDA %s, devices %d%s" % (torch.__version__, torch.version.cuda, torch.cuda.device_count() if ok else 0,
      "" if ok else ": torch.cuda.is_available() is False"))
ctypes.CDLL("libnvidia-ml.so.1")  # memshim reads device figures from NVML
sys.exit(0 if ok else 1)
PY
fi
HAVE_ST=1
if ! "$PY" -c 'import sentence_transformers, transformers, tokenizers' 2>"$OUT/st-import.err"; then
  [ $SELFTEST = 1 ] || die "sentence-transformers/transformers/tokenizers do not import: $(tail -1 "$OUT/st-import.err")"
  HAVE_ST=0
fi
JEMALLOC_SO=$(bench_jemalloc_lib 2>/dev/null || true)
say "   preflight done ($(elapsed) s); libjemalloc.so.2: ${JEMALLOC_SO:-not installed (the jemalloc column is left out)}"

# ---- 1. build ----
if [ $SELFTEST = 1 ]; then
  BUILD=$(realpath "${BUILD_DIR:-build}")
  LIB=$BUILD/libmemshim.so
  FAKES=$BUILD/tests/fakes
  [ -f "$LIB" ] && [ -x "$FAKES/bin/torch_like12" ] || die "--selftest needs the test build in $BUILD (cmake --build build)"
elif [ -z "$LIB" ]; then
  say "== 1. build"
  MS_BUILD_TARGETS=memshim MS_BUILD_CMAKE_ARGS=-DMEMSHIM_BUILD_TESTS=OFF MS_BUILD_TIMEOUT=240 \
    ms_build "$OUT/build" "$SRC" 2>/dev/null || die "build failed: $(tail -5 "$OUT/build/build.log")"
  LIB=$OUT/build/libmemshim.so
  say "   built $LIB ($(elapsed) s)"
fi
[ -f "$LIB" ] || die "no library at $LIB"

# ---- 2. (a) load/unload cycles ----
cat >"$OUT/cycles.py" <<'PY'
"""Model load/unload cycles; after each step a memshim report (its report signal, SIGRTMIN+9) gives the GPU figures.
   cycles.py torch N   a stack of fp16 Linear layers, its size varying per cycle, loaded, run, deleted,
                       then torch.cuda.empty_cache()
   cycles.py fake N    (self-test) the same steps with cudaMalloc/cudaFree of the fake runtime"""
import ctypes, gc, json, os, signal, sys, time

mode, cycles = sys.argv[1], int(sys.argv[2])
path = os.environ["MEMSHIM_REPORT_PATH"].replace("%p", str(os.getpid())) + ".json"
last = [-1]
MIB = 1 << 20


def report(step):
    os.kill(os.getpid(), signal.SIGRTMIN + 9)  # memshim's monitor writes the report
    deadline = time.time() + 20
    while True:
        try:
            d = json.load(open(path))
            if d["reason"] == "signal" and d["time_ms"] > last[0]:
                break
        except (OSError, ValueError, KeyError):
            pass
        if time.time() > deadline:
            sys.exit("device-check: no memshim report 20 s after SIGRTMIN+9 (is memshim preloaded?)")
        time.sleep(0.05)
    last[0] = d["time_ms"]
    g = d.get("gpu")
    if not g or not g.get("devices"):
        print("%-12s memshim saw no device memory" % step, flush=True)
        return
    dev = g["devices"][0]
    sites = [s for s in d["sites"] if "device" in s["memory"] and s["memory"]["device"]["live_bytes"] > 0]
    top = max(sites, key=lambda s: s["memory"]["device"]["live_bytes"], default=None)
    where = "-"
    if top:
        names = [f.get("function", "?") for f in top["frames"][:3]]
        where = "%.0f MiB via %s in %s" % (top["memory"]["device"]["live_bytes"] / MIB, top["memory"]["device"].get("api", "?"),
                                           " <- ".join(n[:60] for n in names))
    used = "%9.0f" % (dev["nvml_used_bytes"] / MIB) if dev.get("nvml_process", True) else "        ?"
    resid = "%9.0f" % (dev["residual_bytes"] / MIB) if dev.get("nvml_process", True) else "        ?"
    print("%-12s %9.0f %9.0f %s %s  %s" % (step, dev["tracked_bytes"] / MIB, dev["pool_reserved_bytes"] / MIB, used, resid, where),
          flush=True)


print("%-12s %9s %9s %9s %9s  %s" % ("step", "tracked", "pool", "nvml", "residual", "top call site (MiB)"), flush=True)
if mode == "torch":
    import torch
    torch.cuda.init()
    report("start")
    for c in range(cycles):
        layers = 12 + 4 * (c % 3)  # 384, 512, 640 MiB of fp16 weights: sizes vary as models do
        m = torch.nn.Sequential(*[torch.nn.Linear(4096, 4096) for _ in range(layers)]).half().cuda()
        with torch.no_grad():
            m(torch.randn(256, 4096, device="cuda", dtype=torch.half))
        torch.cuda.synchronize()
        report("load %d" % c)
        del m
        gc.collect()
        torch.cuda.synchronize()
        report("unload %d" % c)
        torch.cuda.empty_cache()
        report("empty %d" % c)
else:
    rt = ctypes.CDLL("libcudart.so.12")
    held, leak = [], []
    for c in range(cycles):
        for i in range(8 + 4 * (c % 3)):
            p = ctypes.c_void_p()
            assert rt.cudaMalloc(ctypes.byref(p), ctypes.c_size_t(32 * MIB)) == 0
            held.append(p)
        p = ctypes.c_void_p()
        assert rt.cudaMalloc(ctypes.byref(p), ctypes.c_size_t(4 * MIB)) == 0
        leak.append(p)  # never freed: the creep
        report("load %d" % c)
        for p in held:
            assert rt.cudaFree(p) == 0
        held = []
        report("unload %d" % c)
PY

run_cycles() { # label env... : one process of cycles under memshim
  local label=$1
  shift
  say ""
  say "-- (a) $label"
  rm -f "$OUT"/cycles.*.json
  local rc=0
  env "$@" LD_PRELOAD="$LIB" MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$OUT/cycles.%p" \
    timeout 150 "$PY" "$OUT/cycles.py" "$MODE" 5 2>"$OUT/cycles.err" | tee -a "$LOG" || rc=$?
  grep -E "memshim|Error|error" "$OUT/cycles.err" | head -5 | tee -a "$LOG" || true
  [ $rc = 0 ] || die "(a) $label: exit status $rc: $(tail -3 "$OUT/cycles.err")"
}

say ""
say "== 2. (a) load/unload cycles: MiB per step (tracked = live + pool reserve; residual = NVML's - tracked)"
if [ $SELFTEST = 1 ]; then
  MODE=fake
  run_cycles "fake runtime (self-test)" LD_LIBRARY_PATH="$FAKES/lib:$FAKES/nvml-v3"
else
  MODE=torch
  run_cycles "native allocator"
  run_cycles "expandable_segments:True" PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True PYTORCH_ALLOC_CONF=expandable_segments:True
  run_cycles "backend:cudaMallocAsync" PYTORCH_CUDA_ALLOC_CONF=backend:cudaMallocAsync PYTORCH_ALLOC_CONF=backend:cudaMallocAsync
fi
say "   (a) done ($(elapsed) s)"

# ---- 3. (b) seed 000 ----
say ""
say "== 3. (b) seed 000: RSS per batch of 200 strings of 12,345 characters (tiny SentenceTransformer)"
if [ $HAVE_ST = 0 ]; then
  say "   SKIPPED: sentence-transformers, transformers or tokenizers not installed here ($(tail -1 "$OUT/st-import.err"))"
else
  cat >"$OUT/seed000.py" <<'PY'
"""seed000.py build DIR | run DIR BATCHES: a tiny SentenceTransformer (random weights, WordPiece
trained on generated text), then batches of 200 strings of 12,345 characters; RSS after each."""
import os, random, sys, time

WORDS = None


def words():
    global WORDS
    if WORDS is None:
        rnd = random.Random(0)
        letters = "abcdefghijklmnopqrstuvwxyz"
        WORDS = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 12))) for _ in range(20000)]
    return WORDS


def text(rnd, n):
    w, out, size = words(), [], 0
    while size < n:
        s = rnd.choice(w)
        out.append(s)
        size += len(s) + 1
    return " ".join(out)[:n]


def build(d):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast
    from sentence_transformers import SentenceTransformer, models as stm
    rnd = random.Random(1)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator((text(rnd, 2000) for _ in range(2000)), trainers.WordPieceTrainer(
        vocab_size=8000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    hf = os.path.join(d, "hf")
    os.makedirs(hf, exist_ok=True)
    BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                      mask_token="[MASK]").save_pretrained(hf)
    BertModel(BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=256, max_position_embeddings=512)).save_pretrained(hf)
    word = stm.Transformer(hf, max_seq_length=256)
    SentenceTransformer(modules=[word, stm.Pooling(word.get_word_embedding_dimension())]).save(os.path.join(d, "st"))


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def run(d, batches):
    import torch
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(os.path.join(d, "st"), device="cuda" if torch.cuda.is_available() else "cpu")
    rnd = random.Random(2)
    t0 = time.time()
    out = []
    for b in range(batches):
        model.encode([text(rnd, 12345) for _ in range(200)], batch_size=32)
        out.append("%.0f" % rss_mib())
    print("RSS MiB per batch: " + " ".join(out))
    print("%.1f s for %d batches, TOKENIZERS_PARALLELISM=%s" % (time.time() - t0, batches,
          os.environ.get("TOKENIZERS_PARALLELISM", "(unset)")))


if sys.argv[1] == "build":
    build(sys.argv[2])
else:
    run(sys.argv[2], int(sys.argv[3]))
PY
  timeout 180 "$PY" "$OUT/seed000.py" build "$OUT/st-model" >"$OUT/st-build.log" 2>&1 ||
    die "(b) building the tiny SentenceTransformer failed: $(tail -3 "$OUT/st-build.log")"
  say "   model built ($(elapsed) s)"
  BATCHES=${SEED000_BATCHES:-25}
  seed_run() { # label env...
    local label=$1
    shift
    say "-- (b) $label"
    env "$@" timeout 180 "$PY" "$OUT/seed000.py" run "$OUT/st-model" "$BATCHES" 2>"$OUT/seed.err" | tee -a "$LOG" ||
      die "(b) $label failed: $(tail -3 "$OUT/seed.err")"
  }
  seed_run "glibc"
  [ -n "$JEMALLOC_SO" ] && seed_run "jemalloc ($JEMALLOC_SO)" LD_PRELOAD="$JEMALLOC_SO"
  rm -f "$OUT"/seed.*.json
  seed_run "memshim (profiling, one sample per 512 KiB)" LD_PRELOAD="$LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json \
    MEMSHIM_REPORT_PATH="$OUT/seed.%p"
  "$PY" - "$OUT"/seed.*.json <<'PY' 2>&1 | tee -a "$LOG"
import json, sys
d = json.load(open(sys.argv[1]))
leak = d["leak"]
print("memshim: steady heap growth after warm-up %.1f MiB (%s)" % (leak["growth_bytes"] / 1048576, leak["verdict"]))
by_id = {s["id"]: s for s in d["sites"]}
for l in leak["sites"][:3]:
    s = by_id.get(l["id"])
    frames = " <- ".join(f.get("function", "?")[:50] for f in (s["frames"][:4] if s else []))
    print("  +%.1f MiB%s  %s" % (l["growth_bytes"] / 1048576, " (steady)" if l["steady"] else "", frames))
g = d.get("gpu")
if g:
    for dev in g["devices"]:
        print("  gpu %d %s: tracked %.0f MiB, NVML %.0f MiB, residual %.0f MiB" % (dev["index"], dev["name"],
              dev["tracked_bytes"] / 1048576, dev["nvml_used_bytes"] / 1048576, dev["residual_bytes"] / 1048576))
PY
fi
say ""
say "device-check: done in $(elapsed) s; log: $LOG"
