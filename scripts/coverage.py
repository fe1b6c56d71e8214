"""Do two runs' verdicts agree? Compare the significance.csv of two runs (say the default and one at another
benchmark.seed): how often each run's estimate lies inside the other run's interval (two calibrated 95 % intervals
of independent estimates of one quantity cover each other's estimate about 83 % of the time, more with t
quantiles), and which comparisons are significant in opposite directions or in one run only.

    python scripts/coverage.py RUN_A/data/report/significance.csv RUN_B/data/report/significance.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def _rows(path: Path) -> dict[tuple[str, str, str, str], dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {(r["table"], r["a"], r["b"], r["column"]): r for r in csv.DictReader(f)}


def _inside(value: str, row: dict) -> bool:
    return bool(row["low"]) and float(row["low"]) <= float(value) <= float(row["high"])


def _sign(row: dict) -> int:
    return 0 if row["significant"] != "1" else (1 if float(row["diff"]) > 0 else -1)


def main(a_path: str, b_path: str) -> None:
    a, b = _rows(Path(a_path)), _rows(Path(b_path))
    common = sorted(set(a) & set(b))
    tested = [k for k in common if a[k]["low"] and b[k]["low"]]
    a_in_b = sum(_inside(a[k]["diff"], b[k]) for k in tested)
    b_in_a = sum(_inside(b[k]["diff"], a[k]) for k in tested)
    opposite = [k for k in tested if _sign(a[k]) * _sign(b[k]) < 0]
    one_only = [k for k in tested if (_sign(a[k]) == 0) != (_sign(b[k]) == 0)]
    print(f"comparisons in both runs: {len(common)} ({len(tested)} with an interval in both; "
          f"only in the first: {len(set(a) - set(b))}, only in the second: {len(set(b) - set(a))})")
    print(f"first run's estimate inside the second run's interval: {a_in_b}/{len(tested)} = "
          f"{a_in_b / max(len(tested), 1):.0%}")
    print(f"second run's estimate inside the first run's interval: {b_in_a}/{len(tested)} = "
          f"{b_in_a / max(len(tested), 1):.0%}")
    print(f"significant in opposite directions: {len(opposite)} {[' / '.join(k) for k in opposite]}")
    print(f"significant in one run only: {len(one_only)}")
    for k in one_only:
        print(f"  {' / '.join(k)}: {a[k]['diff']} [{a[k]['low']}, {a[k]['high']}] vs "
              f"{b[k]['diff']} [{b[k]['low']}, {b[k]['high']}]")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
