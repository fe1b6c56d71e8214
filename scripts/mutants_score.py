"""The score of `make mutants`: killed / survived / equivalent per mutated file, from mutmut's results.

mutmut 3 writes, beside each mutated copy of a file, `mutants/<path>.py.meta`, a JSON object whose
`exit_code_by_key` maps every mutant's name to the exit code of the tests run against it. A mutant whose tests
passed survived, unless `docs/reliability.md` lists it under "Mutation testing" as equivalent (a line
"- `<mutant name>`: <why no test can tell it from the original>").

Exit 1 when any mutant survived (or had no test, timed out, or was not checked) without being listed, or when a
listed one is not a surviving mutant any more (the code changed and the list is stale); else 0.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

# mutmut's own mapping (mutmut/stats.py): 1 and 3 are failing tests, 0 passing ones, 5 and 33 no test ran.
KILLED, SURVIVED, NO_TESTS = {1, 3}, {0}, {5, 33}
ENTRY = re.compile(r"^- `([^`]+)`: \S")


def equivalent_mutants(doc: Path) -> dict[str, str]:
    """Mutant name -> reason, from the list under the doc's "Mutation testing" heading."""
    names, inside = {}, False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            inside = line.lstrip("#").strip() == "Mutation testing" or (inside and line.startswith("###"))
            continue
        match = ENTRY.match(line) if inside else None
        if match:
            names[match.group(1)] = line[match.end(1) + 3:].strip()
    return names


def results(root: Path) -> dict[str, dict[str, int | None]]:
    """Source file -> mutant name -> exit code, from every `.meta` file under `root`."""
    out = {}
    for meta in sorted(root.rglob("*.py.meta")):
        source = meta.relative_to(root).as_posix().removesuffix(".meta")
        out[source] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return out


def status(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return "not checked" if code is None else f"other ({code})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--doc", type=Path, default=Path("docs/reliability.md"))
    args = parser.parse_args(argv)
    by_file = results(args.mutants)
    if not by_file:
        print(f"no mutmut results under {args.mutants}/ (run `mutmut run` first)", file=sys.stderr)
        return 1
    equivalent = equivalent_mutants(args.doc)
    bad, seen, totals = [], set(), Counter()
    rows = []
    for source, codes in by_file.items():
        counts = Counter()
        for name, code in codes.items():
            state = status(code)
            if state == "survived" and name in equivalent:
                state = "equivalent"
                seen.add(name)
            elif state != "killed":
                bad.append(f"{name}: {state}")
            counts[state if state in ("killed", "survived", "equivalent") else "other"] += 1
        totals.update(counts)
        rows.append((source, len(codes), counts))
    width = max(len(s) for s, _, _ in rows)
    header = f"{'file':<{width}}  {'mutants':>7}  {'killed':>6}  {'survived':>8}  {'equivalent':>10}  {'other':>5}"
    print(header)
    print("-" * len(header))
    for source, n, c in [*rows, ("total", sum(n for _, n, _ in rows), totals)]:
        print(f"{source:<{width}}  {n:>7}  {c['killed']:>6}  {c['survived']:>8}  {c['equivalent']:>10}  "
              f"{c['other']:>5}")
    stale = sorted(set(equivalent) - seen)
    for name in stale:
        bad.append(f"{name}: listed as equivalent in {args.doc} but not a surviving mutant")
    if bad:
        print(f"\n{len(bad)} mutant(s) need a test or a reason in {args.doc} (`mutmut show <name>` prints one):",
              file=sys.stderr)
        for line in bad:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
