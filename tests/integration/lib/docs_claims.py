#!/usr/bin/env python3
"""Claims in README.md and docs/*.md that the code can contradict, checked against the code:

  docs_claims.py ROOT CLI ALLOWLIST

1. Stale-claim phrases ("not yet", "outside memshim", "not supported", "no GPU", "TODO",
   "planned", ...): every line that has one must be covered by an ALLOWLIST entry
   (FILE | text on that line | why it is still true); an entry that covers no line is stale too.
2. The .deb's dependencies: what the docs say the package depends on is the Depends line of
   cmake/install.cmake (docs/cli.md states it whole).
3. Every MEMSHIM_* name is an option of the table (`memshim config`) or a variable the CLI reads.
4. In code (fenced blocks and `spans`): every `memshim WORD` is a command of src/cli/main.c, and
   every flag given to run/check/report/config is in that command's --help.
5. Every path of this repository named outside fenced blocks (src/..., scripts/..., tests/...) exists.
Prints one line per problem; exit 1 when there is any.
"""
import glob
import os
import re
import subprocess
import sys

root, cli, allow_path = sys.argv[1:4]
errors = []


def rel(p):
    return os.path.relpath(p, root)


docs = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
text = {rel(p): open(p, encoding="utf-8").read() for p in docs}

# ---- 1. stale-claim phrases -------------------------------------------------------------------
PHRASES = re.compile(
    r"not yet|\byet\b|outside memshim|not supported|unsupported|no gpu|\btodo\b|\bfixme\b|\bxxx\b|planned|"
    r"not implemented|unimplemented|coming soon|in the future|future release|for now|\btoday\b|"
    r"does not support|doesn't support|not tracked|until then|not merged|will be added|"
    r"work in progress|\bwip\b|not available",
    re.I)
allow = []  # [file, substring, why, used]
for n, line in enumerate(open(allow_path, encoding="utf-8"), 1):
    line = line.rstrip("\n")
    if not line.strip() or line.lstrip().startswith("#"):
        continue
    parts = [x.strip() for x in line.split("|", 2)]
    if len(parts) != 3 or not parts[0] or not parts[1] or len(parts[2]) < 10:
        errors.append(f"{rel(allow_path)}:{n}: want 'FILE | text on the line | why it is still true': {line}")
        continue
    allow.append(parts + [False])
for f, body in text.items():
    lines = body.splitlines()
    for n, line in enumerate(lines, 1):
        hits = PHRASES.findall(line)
        if not hits:
            continue
        # A heading ("## Not yet") claims what its first paragraph says: the entry must quote that
        # paragraph, so an edit of the list there is looked at again.
        where = line
        if line.startswith("#"):
            para, k = [], n
            while k < len(lines) and not lines[k].strip():
                k += 1
            while k < len(lines) and lines[k].strip():
                para.append(lines[k].strip())
                k += 1
            where = " ".join(para)
        covered = False
        for a in allow:
            if a[0] == f and a[1] in where:
                a[3] = covered = True
        if not covered:
            errors.append(f"{f}:{n}: '{hits[0]}': a claim that may have moved; make it true to the code, "
                          f"or add it to {rel(allow_path)} with why it holds: {line.strip()}")
for a in allow:
    if not a[3]:
        errors.append(f"{rel(allow_path)}: '{a[0]} | {a[1]}' matches no line with a listed phrase: remove it")

# ---- 2. the package's dependencies --------------------------------------------------------------
install = open(os.path.join(root, "cmake", "install.cmake"), encoding="utf-8").read()
m = re.search(r'CPACK_DEBIAN_PACKAGE_DEPENDS\s+"([^"]*)"', install)
if not m:
    errors.append("cmake/install.cmake: no CPACK_DEBIAN_PACKAGE_DEPENDS line")
else:
    depends = m.group(1)
    pkgs = {re.sub(r"\s*\(.*\)", "", d).strip() for d in depends.split(",")}
    cli_md = re.sub(r"\s+", " ", text.get("docs/cli.md", ""))
    said = re.search(r"\.deb\b.*?depending on `([^`]*)`", cli_md)
    if not said:
        errors.append("docs/cli.md: no 'depending on `...`' sentence for the .deb")
    elif said.group(1) != depends:
        errors.append(f"docs/cli.md says the .deb depends on `{said.group(1)}`; cmake/install.cmake: `{depends}`")
    for f, body in text.items():
        flat = re.sub(r"\s+", " ", body)
        for dm in re.finditer(r"(\S+ \S+ )?depend(?:s|ing)? on ((?:`[^`]*`(?:,? (?:and )?)?)+)", flat):
            if dm.group(1) and re.search(r"\b(no longer|not|never)\b", dm.group(1)):
                continue
            for span in re.findall(r"`([^`]*)`", dm.group(2)):
                for d in span.split(","):
                    name = re.sub(r"\s*\(.*\)", "", d).strip()
                    if name.startswith("lib") and name not in pkgs:
                        errors.append(f"{f}: says a dependency on '{name}', not in the Depends line ({depends})")

# ---- 3. MEMSHIM_* names -----------------------------------------------------------------------
cfg = subprocess.run([cli, "config"], capture_output=True, text=True, check=True).stdout
names = {l.split()[0] for l in cfg.splitlines() if l.startswith("MEMSHIM_")}
# The variables that are not options, all listed in the option table's header (MS_ENV_*).
names |= set(re.findall(r'#define MS_ENV_\w+ "(MEMSHIM_\w+)"',
                        open(os.path.join(root, "src", "config", "options.h"), encoding="utf-8").read()))
# Variables the project's scripts, tests and test helpers read (a documented knob of scripts/ or
# tests/, such as the stress tier's MEMSHIM_STRESS_SECONDS).
for src in glob.glob(os.path.join(root, "scripts", "**", "*.sh"), recursive=True) + \
        glob.glob(os.path.join(root, "tests", "integration", "*.sh")) + \
        glob.glob(os.path.join(root, "tests", "integration", "lib", "*.sh")):
    names |= set(re.findall(r"\$\{?(MEMSHIM_\w+)", open(src, encoding="utf-8").read()))
for f, body in text.items():
    for name in sorted(set(re.findall(r"MEMSHIM_[A-Z0-9_]*[A-Z0-9]", body))):
        if name not in names:
            errors.append(f"{f}: {name} is neither an option (memshim config) nor read by the CLI or a script")

# ---- 4. commands and their flags --------------------------------------------------------------
main_c = open(os.path.join(root, "src", "cli", "main.c"), encoding="utf-8").read()
commands = set(re.findall(r'!strcmp\(cmd, "([a-z][a-z-]*)"\)', main_c))
helps = {}


def help_of(cmd):
    if cmd not in helps:
        r = subprocess.run([cli, cmd, "--help"], capture_output=True, text=True)
        h = r.stdout
        helps[cmd] = (h, set(re.findall(r"(--[\w-]+)[ =][A-Z]", h)))
    return helps[cmd]


def code_pieces(body):
    """(line number, code) for fenced-block lines and inline spans."""
    fenced = False
    for n, line in enumerate(body.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield n, re.sub(r"(^|\s)#.*", "", line)  # a shell comment is prose
        else:
            for span in re.findall(r"`([^`]+)`", line):
                yield n, span


# ---- 5. files of this repository named in the prose exist ------------------------------------
# (not in fenced blocks: their commands run in the user's project, `tests/workload.py` is theirs)
for f, body in text.items():
    fenced = False
    for n, line in enumerate(body.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        for m in re.finditer(r"(?<![\w./-])((?:src|scripts|tests|examples|docs|cmake|python|include|\.ci)/[\w./+-]*[\w+-])(\*?)", line):
            if m.group(2) or "<" in m.group(1):
                continue  # a pattern (cuda_*.c), not a file
            if not os.path.exists(os.path.join(root, m.group(1))):
                errors.append(f"{f}:{n}: {m.group(1)}: no such file or directory in the tree")

seen_cmds = 0
for f, body in text.items():
    for n, code in code_pieces(body):
        # memshim as a command: first on the line (after `$ `, VAR=value words, sudo/exec) or
        # after | ; & ( -- not a word in a table header or in prose
        for cm in re.finditer(r"(?:^\s*(?:\$ )?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:sudo |exec )?|[|;&(]\s*)"
                              r"memshim ([a-z][a-z-]*)(.*)", code):
            cmd, rest = cm.group(1), cm.group(2)
            seen_cmds += 1
            if cmd not in commands:
                errors.append(f"{f}:{n}: `memshim {cmd}`: no such command in src/cli/main.c ({code.strip()})")
                continue
            if cmd == "help":
                continue
            h, takes_value = help_of(cmd)
            toks = rest.replace("|", " ").split()
            i = 0
            while i < len(toks):
                t = toks[i]
                i += 1
                if t == "--" or t.startswith(("<", ">", "2>", ";", "&")):
                    break
                if not t.startswith("-") or t == "-":
                    if cmd in ("run", "check"):
                        break  # the wrapped command: its flags are its own
                    continue
                flag = t.strip("[]").split("=")[0].rstrip(",.")
                if flag in ("-h", "--help"):
                    continue
                if not re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", h):
                    errors.append(f"{f}:{n}: `memshim {cmd} {flag}`: not in 'memshim {cmd} --help'")
                if flag in takes_value and "=" not in t:
                    i += 1

for e in errors:
    print(e)
if seen_cmds == 0:
    print("no `memshim CMD` found in the docs' code: the command check found nothing to check")
    errors.append("nothing checked")
print(f"checked: {len(text)} files, {len(allow)} allow-list entries, {seen_cmds} memshim command lines")
sys.exit(1 if errors else 0)
