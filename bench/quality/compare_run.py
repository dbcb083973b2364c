#!/usr/bin/python3
"""Test-set quality of promo run beside XGBoost and a linear model, on promo run's own split.

Subcommands:
  project SRC DST [KEY=VALUE ...]
      Copy the project file SRC to DST with 'folds: 0' (no cross-validation) and every
      KEY: VALUE of the model section replaced (or added), e.g. seed=2 epochs=30.
  score PROJECT RUNDIR OUT.json [CACHEDIR]
      Read RUNDIR/cleaned.csv and RUNDIR/predictions.csv, written by
      'promo run PROJECT -o RUNDIR'. The test rows are the lines named in the 'line'
      column of predictions.csv; every other row of cleaned.csv is a training row. Fit
      XGBoost and a linear model on the training rows, with the project's features, and
      score them and promo's predictions with the same metric code. The baselines depend
      only on the split, so their results are kept in CACHEDIR, keyed by the test rows.
  table OUT.json ...
      Print a Markdown table per example: each run (seed) and the mean over runs.

Run with /usr/bin/python3 (Debian python3-sklearn, python3-xgboost, python3-yaml).
"""
import hashlib
import json
import os
import re
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb
import yaml
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.metrics import average_precision_score, roc_auc_score

XGB_VALID_SHARE = 0.1
XGB_MAX_TREES = 5000
XGB_EARLY_STOP = 50
# The small grid XGBoost is tuned on, choosing by the loss on its validation share.
XGB_GRID = [(depth, eta) for depth in (3, 6) for eta in (0.03, 0.1)]

# ----------------------------------------------------------------------- project copies


def make_project(src, dst, overrides):
    """Copy src to dst with folds: 0 and model keys overridden, editing lines in place so
    that the comments and the other sections stay as they are."""

    lines = open(src, encoding="utf-8").read().split("\n")
    section = None
    model_end = None
    seen = set()
    out = []
    for line in lines:
        m = re.match(r"^([A-Za-z_]+):", line)
        if m:
            if section == "model" and model_end is None:
                model_end = len(out)
            section = m.group(1)
        key = re.match(r"^  ([A-Za-z_]+):", line)
        if section == "evaluation" and key and key.group(1) == "folds":
            line = "  folds: 0"
        if section == "model" and key and key.group(1) in overrides:
            line = "  %s: %s" % (key.group(1), overrides[key.group(1)])
            seen.add(key.group(1))
        out.append(line)

    if section == "model" and model_end is None:
        model_end = len(out)
    missing = ["  %s: %s" % (k, v) for k, v in overrides.items() if k not in seen]
    # Insert before the blank lines that end the model section.
    at = model_end
    while at > 0 and out[at - 1].strip() == "":
        at -= 1
    out[at:at] = missing
    if not any(re.match(r"^  folds:", line) for line in out):
        raise SystemExit("%s: no 'folds' key in the evaluation section" % src)
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


# ----------------------------------------------------------------------- derived columns

# The derive: sections of the projects, mirrored in pandas expression by expression. The
# project's text is checked against these strings, so a changed project fails here instead
# of being compared on other columns.
OJ_SIZE_OZ = [64, 96, 64, 64, 64, 96, 64, 64, 64, 64, 128]
OJ_DERIVE = {
    "units": "exp(logmove)",
    "size_oz": "pick(brand, " + ", ".join(str(s) for s in OJ_SIZE_OZ) + ")",
    "price": "pick(brand, " + ", ".join("price%d" % i for i in range(1, 12)) + ") * size_oz",
    "market_price_oz": "(" + " + ".join("price%d" % i for i in range(1, 12)) + ") / 11",
}
# bench/quality/frat/project.yaml (dunnhumby Breakfast at the Frat).
FRAT_DERIVE = {
    "price_ratio": "PRICE / BASE_PRICE",
    "unit_cost": "0.7 * BASE_PRICE",
}


def pick(index, choices):
    """Return pick(i, a1, ..., an): the i-th choice, counted from 1, and missing where i is
    not a whole number from 1 to n, as in promo."""
    idx = pd.to_numeric(index, errors="coerce").to_numpy(dtype=float)
    out = np.full(len(idx), np.nan)
    for k, choice in enumerate(choices, start=1):
        values = choice.to_numpy(dtype=float) if isinstance(choice, pd.Series) else float(choice)
        sel = idx == k
        out[sel] = values[sel] if isinstance(values, np.ndarray) else values
    return pd.Series(out, index=index.index)


def divide(a, b):
    """a / b, missing where b is 0, as in promo."""
    a = pd.to_numeric(a, errors="coerce").astype(float)
    b = pd.to_numeric(b, errors="coerce").astype(float)
    return (a / b.where(b != 0)).astype(float)


def derive_oj(df):
    # units: exp(logmove)
    df["units"] = np.exp(df["logmove"].astype(float))
    # size_oz: pick(brand, 64, 96, 64, 64, 64, 96, 64, 64, 64, 64, 128)
    df["size_oz"] = pick(df["brand"], OJ_SIZE_OZ)
    # price: pick(brand, price1, ..., price11) * size_oz
    df["price"] = pick(df["brand"], [df["price%d" % i] for i in range(1, 12)]) * df["size_oz"]
    # market_price_oz: (price1 + ... + price11) / 11
    total = df["price1"].astype(float)
    for i in range(2, 12):
        total = total + df["price%d" % i].astype(float)
    df["market_price_oz"] = total / 11


def derive_frat(df):
    # price_ratio: PRICE / BASE_PRICE
    df["price_ratio"] = divide(df["PRICE"], df["BASE_PRICE"])
    # unit_cost: 0.7 * BASE_PRICE
    df["unit_cost"] = 0.7 * df["BASE_PRICE"].astype(float)


DERIVES = [(OJ_DERIVE, derive_oj), (FRAT_DERIVE, derive_frat)]


def derive(df, spec):
    """Add the project's derived columns. Only the derive sections mirrored above are
    accepted."""
    if not spec:
        return df
    text = {k: str(v).strip() for k, v in spec.items()}
    for known, fn in DERIVES:
        if text == known:
            df = df.copy()
            fn(df)
            return df
    raise SystemExit("the project's derive: section is not one this script mirrors; "
                     "add it to DERIVES in %s" % __file__)


# ----------------------------------------------------------------------- features


def project_features(proj, columns):
    """Return the project's feature columns (every column but the target, ignore, id and
    skip ones) and its transforms."""
    feats = proj.get("features") or {}
    target = proj["model"]["target"]
    ignore = feats.get("ignore") or []
    ids = feats.get("id") or []
    ignore = [ignore] if isinstance(ignore, str) else ignore
    ids = [ids] if isinstance(ids, str) else ids
    transforms = feats.get("transforms") or {}
    skip = {c for c, t in transforms.items() if t == "skip"}
    used = [c for c in columns if c != target and c not in ignore and c not in ids and c not in skip]
    return used, transforms


def design(df, used, transforms, standardize, train_mask):
    """Build the feature matrix. Text and onehot/index columns become one-hot columns of
    the levels seen in training; numbers stay as they are, or are standardized with the
    training rows' mean and deviation."""
    parts, names = [], []
    for c in used:
        col = df[c]
        categorical = transforms.get(c) in ("onehot", "index") or col.dtype == object
        if categorical:
            text = col.astype(str)
            for level in sorted(text[train_mask].unique()):
                parts.append((text == level).to_numpy(dtype=float))
                names.append("%s=%s" % (c, level))
        else:
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            med = np.nanmedian(x[train_mask])
            x = np.where(np.isnan(x), med, x)
            if standardize:
                mu, sd = x[train_mask].mean(), x[train_mask].std()
                x = (x - mu) / (sd if sd > 0 else 1.0)
            parts.append(x)
            names.append(c)
    return np.column_stack(parts), names


# ----------------------------------------------------------------------- metrics


def binary_metrics(y, p):
    p = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    y = np.asarray(y, dtype=float)
    return {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "pr_auc": float(average_precision_score(y, p)),
    }


def count_metrics(y, mu):
    y = np.asarray(y, dtype=float)
    mu = np.maximum(np.asarray(mu, dtype=float), 1e-12)
    err = y - mu
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0)
    return {
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": float(np.mean(np.abs(err))),
        "wape": float(np.sum(np.abs(err)) / np.sum(y)),
        "poisson_deviance": float(np.mean(2 * (ylogy - err))),
    }


# ----------------------------------------------------------------------- baselines


def fit_xgboost(x, y, objective, rng_seed):
    rng = np.random.default_rng(rng_seed)
    n = len(y)
    valid = np.zeros(n, dtype=bool)
    valid[rng.permutation(n)[: int(round(XGB_VALID_SHARE * n))]] = True
    dtrain = xgb.DMatrix(x[~valid], label=y[~valid])
    dvalid = xgb.DMatrix(x[valid], label=y[valid])
    metric = "logloss" if objective == "binary:logistic" else "poisson-nloglik"
    best = None
    for depth, eta in XGB_GRID:
        params = {"objective": objective, "tree_method": "hist", "max_depth": depth, "eta": eta,
                  "subsample": 0.8, "colsample_bytree": 0.8, "eval_metric": metric,
                  "seed": rng_seed, "nthread": 2}
        booster = xgb.train(params, dtrain, num_boost_round=XGB_MAX_TREES, evals=[(dvalid, "valid")],
                            early_stopping_rounds=XGB_EARLY_STOP, verbose_eval=False)
        score = booster.best_score
        if best is None or score < best[0]:
            best = (score, booster, depth, eta)
    _, booster, depth, eta = best
    trees = booster.best_iteration + 1
    return booster, {"max_depth": depth, "eta": eta, "trees": trees}


def baselines(df, used, transforms, task, target, test_mask, seed):
    train = ~test_mask
    y = df[target].to_numpy(dtype=float)
    out = {}
    t0 = time.time()
    x_raw, _ = design(df, used, transforms, False, train)
    objective = "binary:logistic" if task == "binary" else "count:poisson"
    booster, info = fit_xgboost(x_raw[train], y[train], objective, seed)
    pred = booster.predict(xgb.DMatrix(x_raw[test_mask]), iteration_range=(0, info["trees"]))
    out["xgboost"] = {"pred": pred, "info": info, "fit_s": time.time() - t0}
    t0 = time.time()
    x_std, _ = design(df, used, transforms, True, train)
    if task == "binary":
        lin = LogisticRegression(C=1.0, max_iter=2000).fit(x_std[train], y[train])
        pred = lin.predict_proba(x_std[test_mask])[:, 1]
        name = "logistic"
    else:
        lin = PoissonRegressor(alpha=1e-4, max_iter=3000).fit(x_std[train], y[train])
        pred = lin.predict(x_std[test_mask])
        name = "poisson_glm"
    out[name] = {"pred": pred, "info": {}, "fit_s": time.time() - t0}
    return out


# ----------------------------------------------------------------------- score


def score(project_path, rundir, out_path, cachedir=None):
    proj = yaml.safe_load(open(project_path, encoding="utf-8"))
    task = proj["model"].get("task", "binary")
    target = proj["model"]["target"]
    cleaned = pd.read_csv(os.path.join(rundir, "cleaned.csv"), keep_default_na=False,
                          na_values=[""], low_memory=False)
    preds = pd.read_csv(os.path.join(rundir, "predictions.csv"))
    df = derive(cleaned, proj.get("derive"))
    # Line 1 is the header, so data row i (from 0) is line i + 2.
    rows = preds["line"].to_numpy() - 2
    if rows.min() < 0 or rows.max() >= len(df) or len(np.unique(rows)) != len(rows):
        raise SystemExit("%s: 'line' does not name distinct rows of cleaned.csv" % rundir)
    test_mask = np.zeros(len(df), dtype=bool)
    test_mask[rows] = True
    y_test = df[target].to_numpy(dtype=float)[rows]
    # promo's actual column must be the same target, or the rows are misread.
    gap = np.max(np.abs(y_test - preds["actual"].to_numpy(dtype=float)) / np.maximum(1, np.abs(y_test)))
    if gap > 1e-4:
        raise SystemExit("%s: the target of the test rows differs from promo's 'actual' (%g)" % (rundir, gap))
    # The baselines predict the test rows in cleaned.csv order, so promo's predictions are
    # put in that order too.
    order = np.argsort(rows)
    used, transforms = project_features(proj, list(df.columns))

    # XGBoost takes promo's seed for its early-stopping share and its row sampling.
    seed = int(proj["model"].get("seed", 42))
    key = hashlib.sha1((os.path.basename(os.path.dirname(os.path.abspath(project_path))) + ":%d:" % seed + ",".join(
        map(str, np.sort(rows)))).encode()).hexdigest()[:16]
    cache = os.path.join(cachedir, key + ".json") if cachedir else None
    if cache and os.path.exists(cache):
        base = json.load(open(cache))
    else:
        fitted = baselines(df, used, transforms, task, target, test_mask, seed)
        y_sorted = df[target].to_numpy(dtype=float)[test_mask]
        metric = binary_metrics if task == "binary" else count_metrics
        base = {name: {"metrics": metric(y_sorted, r["pred"]), "info": r["info"], "fit_s": r["fit_s"]}
                for name, r in fitted.items()}
        if cache:
            os.makedirs(cachedir, exist_ok=True)
            json.dump(base, open(cache, "w"))
    metric = binary_metrics if task == "binary" else count_metrics
    promo = metric(y_test[order], preds["prediction"].to_numpy(dtype=float)[order])
    metrics_json = json.load(open(os.path.join(rundir, "metrics.json")))
    result = {
        "project": project_path, "rundir": rundir, "task": task, "target": target,
        "features": used, "n_train": int((~test_mask).sum()), "n_test": int(test_mask.sum()),
        "positives": int(y_test.sum()) if task == "binary" else None,
        "model": proj["model"], "promo": promo, "promo_own_metrics": metrics_json.get("test"),
        "baselines": base,
    }
    # Drop promo's curves; they are not needed here.
    if isinstance(result["promo_own_metrics"], dict):
        result["promo_own_metrics"].pop("curves", None)
    json.dump(result, open(out_path, "w"), indent=1, default=float)


# ----------------------------------------------------------------------- table

BINARY_COLS = [("auc", "AUC", 4, True), ("log_loss", "log loss", 5, False), ("pr_auc", "PR AUC", 4, True)]
COUNT_COLS = [("rmse", "RMSE", 0, False), ("mae", "MAE", 0, False), ("wape", "WAPE", 4, False),
              ("poisson_deviance", "Poisson deviance", 0, False)]


def fmt(x, digits):
    # Counts below 100 (Breakfast at the Frat's units per store-week) get 3 decimals.
    if digits == 0 and abs(x) < 100:
        digits = 3
    return "{:,.{}f}".format(x, digits)


def table(paths):
    runs = [json.load(open(p)) for p in paths]
    by_example = {}
    for r in runs:
        by_example.setdefault(os.path.dirname(os.path.abspath(r["project"])), []).append(r)
    for example, rs in by_example.items():
        task = rs[0]["task"]
        cols = BINARY_COLS if task == "binary" else COUNT_COLS
        lin = "logistic" if task == "binary" else "poisson_glm"
        print("\n### %s (target %s, %s; %d train + validation rows, %d test rows)\n" % (
            os.path.basename(example), rs[0]["target"], task, rs[0]["n_train"], rs[0]["n_test"]))
        print("features: " + ", ".join(rs[0]["features"]) + "\n")
        print("| seed | model | " + " | ".join(c[1] for c in cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        means = {"promo": [], "xgboost": [], lin: []}
        for r in rs:
            seed = r["model"].get("seed", 42)
            xi = r["baselines"]["xgboost"]["info"]
            rows = [("promo", r["promo"]),
                    ("XGBoost (depth %d, eta %g, %d trees)" % (xi["max_depth"], xi["eta"], xi["trees"]),
                     r["baselines"]["xgboost"]["metrics"]),
                    ("logistic regression" if task == "binary" else "Poisson regression",
                     r["baselines"][lin]["metrics"])]
            for name, m in rows:
                print("| %s | %s | %s |" % (seed, name, " | ".join(fmt(m[c[0]], c[2]) for c in cols)))
            means["promo"].append(r["promo"])
            means["xgboost"].append(r["baselines"]["xgboost"]["metrics"])
            means[lin].append(r["baselines"][lin]["metrics"])
            extra = ""
            if r.get("positives") is not None:
                extra = " (%d positives in the test rows)" % r["positives"]
            print("| %s | promo / XGBoost | %s |%s" % (seed, " | ".join(
                "%.3f" % (r["promo"][c[0]] / r["baselines"]["xgboost"]["metrics"][c[0]]) for c in cols), extra))
        if len(rs) > 1:
            labels = {"promo": "promo", "xgboost": "XGBoost", "logistic": "logistic regression",
                      "poisson_glm": "Poisson regression"}
            for name, ms in means.items():
                print("| mean ± sd | %s | %s |" % (labels[name], " | ".join(
                    "%s ± %s" % (fmt(np.mean([m[c[0]] for m in ms]), c[2]), fmt(np.std([m[c[0]] for m in ms], ddof=1), c[2]))
                    for c in cols)))
            print("| runs | promo better than XGBoost | %s |" % " | ".join(
                "%d of %d" % (sum((p[c[0]] > x[c[0]]) == c[3] for p, x in zip(means["promo"], means["xgboost"])),
                              len(rs)) for c in cols))
            print("| mean | promo / XGBoost (ratio of means) | %s |" % " | ".join(
                "%.3f" % (np.mean([m[c[0]] for m in means["promo"]]) / np.mean([m[c[0]] for m in means["xgboost"]]))
                for c in cols))


def main(argv):
    if len(argv) >= 3 and argv[1] == "project":
        overrides = dict(a.split("=", 1) for a in argv[4:])
        make_project(argv[2], argv[3], overrides)
    elif len(argv) in (5, 6) and argv[1] == "score":
        score(argv[2], argv[3], argv[4], argv[5] if len(argv) == 6 else None)
    elif len(argv) >= 3 and argv[1] == "table":
        table(argv[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
