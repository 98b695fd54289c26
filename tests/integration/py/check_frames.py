"""Checks memshim's reports of frames.py (tests/integration/py/frames.sh): every case's site
names the allocating Python function, file and line first, callers follow, and the
interpreter's own eval frames are gone. Usage: check_frames.py REPORT_BASE SCRIPT MAJOR.MINOR
(REPORT_BASE.json, .txt and .collapsed are the reports written while frames.py held its data)."""
import json
import re
import sys

base, script, version = sys.argv[1], sys.argv[2], tuple(int(x) for x in sys.argv[3].split("."))
qual = version >= (3, 11)  # co_qualname

lines = {}
with open(script, encoding="utf-8") as f:
    for n, text in enumerate(f, 1):
        m = re.search(r"# @([a-z0-9.]+)\s*$", text)
        if m:
            lines[m.group(1)] = n

if version >= (3, 12):
    comp = "comp_fn"  # PEP 709: comprehensions run inline
elif qual:
    comp = "comp_fn.<locals>.<listcomp>"
else:
    comp = "<listcomp>"
# case: (size, (file suffix, line, function) of the allocating Python frame, the next Python frame or None)
cases = {
    "nested": (1100001, ("frames.py", lines["nested"], "outer_fn.<locals>.inner_fn" if qual else "inner_fn"),
               ("frames.py", lines["nested.caller"], "outer_fn")),
    "method": (1200001, ("frames.py", lines["method"], "Holder.grab" if qual else "grab"), None),
    "generator": (1300001, ("frames.py", lines["generator"], "gen_fn"),
                  ("frames.py", lines["generator.caller"], "main")),
    "comprehension": (1400001, ("frames.py", lines["comprehension"], comp), None),
    "thread": (1500001, ("frames.py", lines["thread"], "thread_fn"), None),
    "latin1": (1600001, ("frames.py", lines["latin1"], "grüße"), None),
    "ucs2": (1700001, ("frames.py", lines["ucs2"], "数据"), None),
    "ucs4": (1800001, ("frames.py", lines["ucs4"], "𠀀x"), None),
    "exec": (1900001, ("generated_by_exec.py", 1, "<module>"), ("frames.py", lines["exec.caller"], "main")),
}

with open(base + ".json", encoding="utf-8") as f:
    report = json.load(f)
with open(base + ".txt", encoding="utf-8") as f:
    text = f.read()
with open(base + ".collapsed", encoding="utf-8") as f:
    collapsed = f.read()

failures = []


def key(frame):
    return (frame["file"], frame["line"], frame["function"])


def matches(frame, want):
    return frame["file"].endswith(want[0]) and frame["line"] == want[1] and frame["function"] == want[2]


for name, (size, want, caller) in cases.items():
    found = None
    for site in report["sites"]:
        py = [f for f in site["frames"] if f["kind"] == "python"]
        if py and matches(py[0], want) and site["memory"]["heap"]["live_bytes"] >= size:
            found = site
            break
    if not found:
        failures.append("%s: no site whose first Python frame is %s:%d %s holding %d bytes" % ((name,) + want + (size,)))
        continue
    frames = found["frames"]
    py = [f for f in frames if f["kind"] == "python"]
    first_py = frames.index(py[0])
    if first_py == 0 or frames[0]["kind"] != "native":
        failures.append("%s: the allocating native frames are missing before %s" % (name, key(py[0])))
    last_py = max(i for i, f in enumerate(frames) if f["kind"] == "python")
    for f in frames[:last_py]:
        if f["kind"] == "native" and f["function"].startswith("_PyEval_EvalFrameDefault"):
            failures.append("%s: an interpreter eval frame was left among the Python frames" % name)
    for f in py:
        if set(f) != {"kind", "function", "file", "line"} or not isinstance(f["line"], int):
            failures.append("%s: python frame has members %s" % (name, sorted(f)))
    if caller and (len(py) < 2 or not matches(py[1], caller)):
        failures.append("%s: caller is %s, expected %s" % (name, key(py[1]) if len(py) > 1 else None, caller))
    if name == "thread" and not any(f["function"] in ("run", "Thread.run") for f in py[1:]):
        failures.append("thread: Thread.run is not among the callers: %s" % [key(f) for f in py])
    if py[-1]["function"] != "<module>" and name != "thread":
        failures.append("%s: outermost Python frame is %s, not <module>" % (name, key(py[-1])))
    # people read a Python frame as "file:LINE function", in the text report and the collapsed stacks
    shown = "%s:%d %s" % (py[0]["file"], py[0]["line"], py[0]["function"])
    # the site's own headline, or (where one Python line has several native stacks: the
    # interpreter's call path to the allocator changes once a call is specialised) the headline
    # of the group that lists it as "+ N more native stack(s) under this Python line: site ID"
    headline = r"site %d: %s(  \[\d+ native stacks\])?\n" % (found["id"], re.escape(shown))
    grouped = any(
        re.search(r"site \d+: %s  \[\d+ native stacks\]\n" % re.escape(shown), block)
        and re.search(r"under this Python line: (site \d+ \([^)]*\), )*site %d \(" % found["id"], block)
        for block in re.split(r"\n(?=#\d+ )", text))
    if not re.search(headline, text) and not grouped:
        failures.append("%s: text report headline of site %d does not end with %r" % (name, found["id"], shown))
    if "      %s\n" % shown not in text:
        failures.append("%s: text report stack lacks %r" % (name, shown))
    if not any(shown in l.rsplit(" ", 1)[0].split(";") for l in collapsed.splitlines()):
        failures.append("%s: no collapsed stack holds the frame %r" % (name, shown))

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("all %d cases named with file, line and function" % len(cases))
