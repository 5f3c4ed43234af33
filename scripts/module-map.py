#!/usr/bin/python3
"""module-map.py - the map of mpstack's C modules, from the code itself: each
file's job (the first sentence of its header comment, or of its .h when the
.c says "see x.h") and the modules it calls into (its own #include "x.h" of
other modules). The README's architecture section holds the map between
markers; `make test` runs --check so it cannot drift.

  module-map.py              print the map (Markdown)
  module-map.py --check F    exit 1, with a diff, if F's map is stale
  module-map.py --write F    rewrite F's map
"""
import difflib
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
DIRS = ["common", "primary", "secondary", "capture"]
BEGIN = "<!-- module-map: scripts/module-map.py --write README.md; make test checks it -->"
END = "<!-- /module-map -->"


def header_sentence(path):
    """First sentence of the file's leading comment, without "name - "."""
    lines = path.read_text().splitlines()
    text = []
    for line in lines[1:40]:
        s = line.strip()
        if s.startswith("*/"):
            break
        s = s.lstrip("*").strip()
        if s.startswith("SPDX") or (not s and not text):
            continue
        if not s:
            break
        text.append(s)
    t = " ".join(text)
    t = re.sub(r"^[\w./-]+(\.[ch])? ?(-|:) ", "", t)
    m = re.match(r"(.+?\.)(\s|$)", t)
    return m.group(1) if m else t


def modules():
    """{module path without suffix: (job, set of modules it includes)}."""
    files = sorted(p for d in DIRS for p in (REPO / d).rglob("*.[ch]"))
    stems = {p.with_suffix("").relative_to(REPO).as_posix() for p in files}
    by_name = {}
    for s in stems:
        by_name.setdefault(pathlib.Path(s).name, []).append(s)
    out = {}
    for stem in sorted(stems):
        c, h = REPO / (stem + ".c"), REPO / (stem + ".h")
        src = c if c.exists() else h
        job = header_sentence(src)
        if job.lower().startswith("see ") and h.exists():
            job = header_sentence(h)
        uses = set()
        for f in (c, h):
            if not f.exists():
                continue
            for inc in re.findall(r'#include "([\w/]+)\.h"', f.read_text()):
                if "/" in inc and not any(x.endswith(inc) for x in stems):
                    continue    # lwIP's own headers ("lwip/netif.h")
                cands = by_name.get(pathlib.Path(inc).name, [])
                # the one in the including file's folder, else the only one
                near = [x for x in cands if x.startswith(str(pathlib.Path(stem).parent))]
                pick = near or cands
                if len(pick) == 1 and pick[0] != stem:
                    uses.add(pick[0])
        out[stem] = (job, uses)
    return out


def render():
    rows = ["| module | its one job | calls into |", "|---|---|---|"]
    for stem, (job, uses) in modules().items():
        kind = ".c" if (REPO / (stem + ".c")).exists() else ".h"
        rows.append(f"| `{stem}{kind}` | {job} | "
                    + ", ".join(f"`{pathlib.Path(u).name}`" for u in sorted(uses)) + " |")
    return "\n".join(rows)


def main():
    if len(sys.argv) == 1:
        print(render())
        return 0
    if len(sys.argv) != 3 or sys.argv[1] not in ("--check", "--write"):
        sys.exit(__doc__)
    f = pathlib.Path(sys.argv[2])
    text = f.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"module-map: {f} has no map markers ({BEGIN})")
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    new = "\n" + render() + "\n"
    if sys.argv[1] == "--write":
        f.write_text(head + BEGIN + new + END + tail)
        return 0
    if old != new:
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(True), new.splitlines(True), f"{f} (map)", "the code"))
        print(f"module-map: {f}'s module map is stale: run scripts/module-map.py --write {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
