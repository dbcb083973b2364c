"""Summarize the JSON lines of bench_features and features_sklearn.py as a table.

    python3 bench/features_summary.py PROMO.jsonl SKLEARN.jsonl [SKLEARN.jsonl ...]

Uses the standard library only. Prints reading times, the range (min to max) and median
of each step over the timed runs (repeat >= 1; warm-up runs have repeat 0), the ratios
scikit-learn / promo of the medians, and both tools' explained variance ratios. Exits
with 1 when the ratios differ by more than --tolerance (1e-3), because then the two tools
did not do the same work.
"""

import argparse
import json
import statistics
import sys

STEPS = ["fit_s", "apply_s", "total_s"]
DETAIL = ["fit_encode_s", "fit_pca_s", "apply_encode_s", "apply_pca_s"]


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def setting_of(run):
    if run["tool"] == "promo":
        return ("promo", run["threads"], "")
    return ("sklearn", run["threads"], run["solver"])


def label(setting):
    tool, threads, solver = setting
    return f"{tool} {solver} threads={threads}".replace("  ", " ")


def span(values):
    low, high = min(values), max(values)
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}-{high:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("promo")
    parser.add_argument("sklearn", nargs="+")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args()

    records = read_lines(args.promo)
    for path in args.sklearn:
        records += read_lines(path)
    loads = [r for r in records if r["record"] == "columns"]
    runs = [r for r in records if r["record"] == "run" and r["repeat"] >= 1]
    warmups = [r for r in records if r["record"] == "run" and r["repeat"] == 0]

    promo_columns = next(r for r in loads if r["tool"] == "promo")
    print(f"input: {promo_columns['path']}, {promo_columns['n_rows']} rows; "
          f"{len(promo_columns['numeric'])} numeric and "
          f"{len(promo_columns['categorical'])} categorical columns")
    print(f"numeric: {', '.join(promo_columns['numeric'])}")
    print(f"categorical: {', '.join(promo_columns['categorical'])}")
    print("\nreading the CSV (seconds, not in the ratios):")
    for r in loads:
        if r["tool"] == "promo":
            print(f"  promo_table_load (types inferred): {r['load_s']:.2f}")
        else:
            blas = ", ".join(f"{b['internal_api']} {b['version']} {b['architecture']} kernel "
                             f"on {b['num_threads']} threads" for b in r["blas"])
            print(f"  pandas read_csv {r['read_s']:.2f} + currency and number conversion "
                  f"{r['convert_s']:.2f} = {r['load_s']:.2f} (then NumPy uses {blas or '?'})")

    # Timed runs grouped by tool, thread count and solver.
    groups = {}
    for r in runs:
        groups.setdefault(setting_of(r), []).append(r)
    medians = {}
    for setting, group in groups.items():
        for step in STEPS + DETAIL:
            medians[(setting, step)] = statistics.median(r[step] for r in group)
    for title, steps in (("seconds per step over the timed runs, min-max [median]; "
                          "d = matrix width", STEPS),
                         ("the same steps split into encoders and PCA", DETAIL)):
        print(f"\n{title}:")
        print(f"  {'setting':<34} {'d':>4} {'runs':>4}  "
              + "  ".join(f"{s:>18}" for s in steps) + "  other_cpu_s")
        for setting, group in groups.items():
            cells = [f"{span([r[step] for r in group])} [{medians[(setting, step)]:.2f}]"
                     for step in steps]
            # CPU seconds that other processes used during the runs; large values mean a
            # busy neighbour slowed the run down.
            other = max(r.get("other_cpu_s", 0.0) for r in group)
            print(f"  {label(setting):<34} {group[0]['d']:>4} {len(group):>4}  "
                  + "  ".join(f"{c:>18}" for c in cells) + f"  {other:11.2f}")
    for r in warmups:
        print(f"  warm-up run of {label(setting_of(r))}: total {r['total_s']:.2f} s "
              f"(fit {r['fit_s']:.2f}, apply {r['apply_s']:.2f})")

    # scikit-learn's best setting is the one with the lowest median total.
    promo_settings = sorted(s for s in groups if s[0] == "promo")
    sklearn_settings = [s for s in groups if s[0] == "sklearn"]
    if not promo_settings or not sklearn_settings:
        sys.exit("features_summary.py: need timed runs of both tools")
    best = min(sklearn_settings, key=lambda s: medians[(s, "total_s")])
    print(f"\nratio sklearn / promo of the median seconds (above 1: promo is faster)")
    print(f"  {'sklearn setting':<40} {'promo threads':>13}  "
          + "  ".join(f"{s:>8}" for s in STEPS))
    pairs = [(best, p) for p in promo_settings]
    pairs += [(s, p) for s in sorted(sklearn_settings) for p in promo_settings
              if p[1] == s[1] and s != best]
    for s, p in pairs:
        ratios = [medians[(s, step)] / medians[(p, step)] for step in STEPS]
        name = label(s) + (" (best)" if s == best else "")
        print(f"  {name:<40} {p[1]:>13}  " + "  ".join(f"{x:>8.2f}" for x in ratios))

    # Agreement: every run's ratios against promo's first timed run.
    reference = groups[promo_settings[0]][0]["explained_variance_ratio"]
    print("\nexplained variance ratio of the components:")
    print(f"  {'promo':<22} " + " ".join(f"{v:.6f}" for v in reference))
    worst = 0.0
    for s in sorted(sklearn_settings):
        run = groups[s][0]
        diff = max(abs(a - b) for a, b in zip(run["explained_variance_ratio"], reference))
        worst = max(worst, diff)
        name = f"sklearn {s[2]} t={s[1]}"
        print(f"  {name:<22} " + " ".join(f"{v:.6f}" for v in run["explained_variance_ratio"])
              + f"  max |diff| {diff:.1e}")
    for r in runs:
        diff = max(abs(a - b) for a, b in zip(r["explained_variance_ratio"], reference))
        worst = max(worst, diff)
    n_categorical = len(promo_columns["categorical"])
    print(f"promo's matrix is {n_categorical} columns wider: one COL=__other__ column per "
          f"one-hot column, all zero on the training rows")
    if worst > args.tolerance:
        print(f"results differ: max |diff| {worst:.1e} is above {args.tolerance:g}")
        sys.exit(1)
    print(f"results agree: max |diff| over all runs {worst:.1e} <= {args.tolerance:g}")


if __name__ == "__main__":
    main()
