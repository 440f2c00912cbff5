"""Per-module mutation scores from a finished `mutmut run` (`make mutation`; docs/testing.md).

Reads the results mutmut keeps beside each mutated file (``mutants/**/*.py.meta``) and prints a
Markdown table: mutants, killed, survived, not covered by the selected tests, and the score.
A mutant counts as killed when a test failed or timed out on it; survivors and mutants no
selected test reaches both count against the score.

    python -m tests.mutation_scores [--min 80]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")
KILLED = {1, 3, 36, 24, -24, 152, 255}  # a failing test, pytest's internal error, timeouts
SURVIVED = {0}
NOT_COVERED = {5, 33}


def scores(root: Path = MUTANTS) -> dict[str, Counter[str]]:
    table: dict[str, Counter[str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        module = meta.relative_to(root).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].values()
        counts: Counter[str] = Counter()
        for code in codes:
            if code is None:
                counts["not run"] += 1
            elif code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED:
                counts["survived"] += 1
            elif code in NOT_COVERED:
                counts["not covered"] += 1
            else:
                counts["other"] += 1
            counts["mutants"] += 1
        table[module] = counts
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=80.0, help="lowest acceptable score, %%")
    args = parser.parse_args()
    table = scores()
    if not table:
        print("no mutmut results under mutants/: run `make mutation` first", file=sys.stderr)
        return 2
    print("| module | mutants | killed | survived | not covered | score |")
    print("|---|---:|---:|---:|---:|---:|")
    below, unmeasured = [], []
    for module, c in table.items():
        if not c["mutants"]:
            continue  # nothing to mutate (a package's __init__)
        judged = c["mutants"] - c["not run"]
        if not judged:
            unmeasured.append(module)
            print(f"| `{module}` | {c['mutants']} | – | – | – | not run |")
            continue
        score = 100.0 * c["killed"] / judged
        if score < args.min:
            below.append(module)
        # a sampled or interrupted run: the score is over the mutants that were run
        pending = f" ({judged} run)" if c["not run"] else ""
        print(
            f"| `{module}` | {c['mutants']} | {c['killed']} | {c['survived']} | "
            f"{c['not covered']} | {score:.0f}%{pending} |"
        )
    if below:
        print(f"\nbelow {args.min:.0f}%: {', '.join(below)}", file=sys.stderr)
    if unmeasured:
        print(f"\nnot run: {', '.join(unmeasured)}", file=sys.stderr)
    return 1 if below or unmeasured else 0


if __name__ == "__main__":
    sys.exit(main())
