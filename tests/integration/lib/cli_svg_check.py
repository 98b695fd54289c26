"""Check an SVG timeline from `memshim report --format svg` against the JSON report it was drawn
from: every vertex of every series maps back (through the plot's data-* geometry) to the JSON
point, legend peaks/last values, event marks and tooltips, listed sites and their function names.
usage: cli_svg_check.py REPORT.json TIMELINE.svg TOP"""
import json, re, sys
import xml.etree.ElementTree as ET
doc = json.load(open(sys.argv[1]))
top = int(sys.argv[3])
text = open(sys.argv[2]).read()
root = ET.fromstring(text)  # well-formed XML, or this raises
ns = {"s": "http://www.w3.org/2000/svg"}
plot = root.find(".//s:g[@id='plot']", ns)
x0, y0, w, h = (float(plot.get(k)) for k in ("data-x0", "data-y0", "data-width", "data-height"))
tmax, ymax = float(plot.get("data-t-max-ms")), float(plot.get("data-y-max-bytes"))
points = doc["timeline"]["points"]
fail = []
def fmt(b):
    units = ["B", "KiB", "MiB", "GiB", "TiB"]; u = 0
    while abs(b) >= 1024 and u < 4: b /= 1024; u += 1
    return "%.0f B" % b if u == 0 else "%.1f %s" % (b, units[u])
gpu = any("gpu_tracked" in p or "gpu_used" in p for p in points)
keys = ("rss", "heap_live", "heap_retained", "mmap_resident") + (("gpu_tracked", "gpu_used") if gpu else ())
for key in keys:
    lines = plot.findall("s:polyline[@data-series='%s']" % key, ns)
    if key == "mmap_resident" and not any(p[key] for p in points):
        # all zero may mean "not measured": no line, and the legend says so
        legend = root.find(".//s:text[@data-series='%s']" % key, ns).text
        if lines or "not measured" not in legend: fail.append("mmap_resident all zero: %d lines, legend %r" % (len(lines), legend))
        continue
    if len(lines) != 1: fail.append("series %s: %d polylines" % (key, len(lines))); continue
    verts = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    if len(verts) != len(points): fail.append("%s: %d vertices for %d points" % (key, len(verts), len(points))); continue
    for (x, y), p in zip(verts, points):
        t = (x - x0) / w * tmax
        v = (y0 + h - y) / h * ymax
        if abs(t - p["t_ms"]) > tmax / w / 50 + 1 or abs(v - p.get(key, 0)) > ymax / h / 50 + 1:
            fail.append("%s at t=%d: plotted (%.0f, %.0f), JSON %d" % (key, p["t_ms"], t, v, p.get(key, 0))); break
    legend = root.find(".//s:text[@data-series='%s']" % key, ns).text
    vals = [p.get(key, 0) for p in points] or [0]
    if "peak %s, last %s" % (fmt(max(vals)), fmt(vals[-1])) not in legend:
        fail.append("legend %s: %r, want peak %s last %s" % (key, legend, fmt(max(vals)), fmt(vals[-1])))
events = doc["timeline"]["events"]
marks = plot.findall("s:g[@class='event']", ns)
if sorted((m.get("data-kind"), int(m.get("data-t-ms"))) for m in marks) != sorted((e["kind"], e["t_ms"]) for e in events):
    fail.append("event marks differ from the JSON's events")
for m, e in zip(marks, events):
    if fmt(e["bytes"]) not in m.find("s:title", ns).text: fail.append("event tooltip lacks %s" % fmt(e["bytes"]))
sites = root.findall(".//s:g[@class='site']", ns)
want = [(s["id"], s["memory"]["heap"]["live_bytes"]) for s in doc["sites"][:top]]
got = [(int(s.get("data-id")), int(s.get("data-live-bytes"))) for s in sites]
if got != want: fail.append("listed sites %s, want %s" % (got, want))
for s in doc["sites"][:top]:
    if s["frames"]:
        f = s["frames"][0].get("function", "??")
        esc = f.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        if f != "??" and esc not in text: fail.append("site %s: function %r not listed (escaped)" % (s["id"], f))
if not gpu and re.search(r"gpu|device", text, re.I): fail.append("the SVG mentions GPU/device data, which the report does not have")
if gpu and len(plot.findall("s:polyline", ns)) < 5: fail.append("GPU series expected beside the process series")
if fail: print("\n".join(fail)); sys.exit(1)
print("%d points x %d series, %d events, %d sites checked" % (len(points), len(keys), len(marks), len(sites)))
