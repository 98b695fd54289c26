"""Checks a JSON report of a leaking run: the leak verdict failed and its top growing site is
named, as the gate names it, by WANT ("file:LINE function"): the innermost Python frame in code
the user wrote (not site-packages, dist-packages, the standard library or a frozen module).
Usage: check_leak.py REPORT.json WANT"""
import json
import sys


def library(path):
    return path.startswith("<") or any(p in path for p in ("/site-packages/", "/dist-packages/", "/lib/python3.", "/lib/python2."))


report, want = json.load(open(sys.argv[1], encoding="utf-8")), sys.argv[2]
leak = report["leak"]
top = leak["sites"][0]
site = next(s for s in report["sites"] if s["id"] == top["id"])
py = [f for f in site["frames"] if f["kind"] == "python"]
named = next((f for f in py if not library(f["file"])), py[0] if py else None)
got = named and "%s:%d %s" % (named["file"], named["line"], named["function"])
if leak["verdict"] != "fail" or not top["steady"] or got != want:
    sys.exit("top growing site %s (steady %s, verdict %s) is named %r, expected %r"
             % (top["id"], top["steady"], leak["verdict"], got, want))
print("leak named", got)
