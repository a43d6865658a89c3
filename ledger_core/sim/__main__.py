"""`python -m ledger_core.sim --seed N --scenario S [--count K] [--trace] [--json]`: run (or
replay) seeded schedules; exit 1 with the failing seed and its replay command on a violation."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .runner import SCENARIOS, SimulationFailure, run_schedule


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ledger_core.sim", description=__doc__)
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--scenario", choices=SCENARIOS + ("all",), default="all")
    ap.add_argument("--count", type=int, default=1, help="how many consecutive seeds to run")
    ap.add_argument("--trace", action="store_true", help="print decisions, crashes and partitions")
    ap.add_argument("--json", action="store_true", help="one JSON line per schedule")
    args = ap.parse_args(argv)
    if args.count < 1:
        ap.error("--count must be at least 1")
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    started = time.perf_counter()
    runs = 0
    for seed in range(args.seed, args.seed + args.count):
        for sc in scenarios:
            try:
                res = run_schedule(seed, sc, trace=args.trace)
            except SimulationFailure as exc:
                if exc.trace:
                    print("\n".join(exc.trace))
                print(f"FAILED {exc}", file=sys.stderr)
                return 1
            runs += 1
            if args.trace:
                print("\n".join(res.trace))
            if args.json:
                print(json.dumps(res.summary(), sort_keys=True))
            else:
                print(
                    f"ok seed {seed} {sc}: n={res.n} byzantine={res.byzantine} heights={res.summary()['heights']} "
                    f"virtual {res.virtual_ms} ms (stable at {res.stable_ms}) messages {res.messages}"
                )
    if not args.json:
        print(f"{runs} schedules passed in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
