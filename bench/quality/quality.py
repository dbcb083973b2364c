#!/usr/bin/python3
"""Test-set quality of baseline models on the bundled real examples, on promo's split.

Subcommands (EXAMPLE is hillstrom or oj):
  split EXAMPLE OUTDIR          write OUTDIR/train.csv and OUTDIR/test.csv
  baselines EXAMPLE OUTDIR      fit XGBoost and a linear baseline on train.csv, score
                                test.csv, write OUTDIR/metrics_<model>.json
  score EXAMPLE OUTDIR NAME PRED.csv
                                score a prediction file (one 'prediction' column, rows in
                                test.csv order), write OUTDIR/metrics_NAME.json
  table OUTDIR...               print a Markdown table of every metrics_*.json

Splits, so that promo run can reproduce them:
  hillstrom  rows of examples/hillstrom/hillstrom.csv in file order, numbered from 0;
             numpy.random.default_rng(20240611).permutation(64000); the first 12,800
             indices of the permutation (20%) are the test rows. Both files keep the
             file's row order.
  oj         test = rows with week > max(week) - 12 (the last 12 weeks), train = the rest.

Until promo run can derive columns, the OJ files get two derived columns written into
them: units = exp(logmove) (the target) and price = the own brand's price, that is
price<brand>. Every model, promo's included, reads these same files.

All metrics come from this script, so promo and the baselines are scored by the same code.
Run with /usr/bin/python3 (Debian python3-sklearn, python3-xgboost).
"""
import glob
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.metrics import (average_precision_score, log_loss, mean_absolute_error,
                             mean_poisson_deviance, mean_squared_error, roc_auc_score)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HILLSTROM_SEED = 20240611
HILLSTROM_TEST_SHARE = 0.2
OJ_TEST_WEEKS = 12
# Seed of XGBoost and of the early-stopping holdout inside the training rows.
MODEL_SEED = 42

EXAMPLES = {
    "hillstrom": {
        "target": "conversion",
        "task": "binary",
        "categorical": ["history_segment", "zip_code", "channel", "segment"],
        "numeric": ["recency", "history", "mens", "womens", "newbie"],
    },
    "oj": {
        "target": "units",
        "task": "poisson",
        "categorical": ["brand", "store"],
        "numeric": ["price", "deal", "feat"] + [f"price{i}" for i in range(1, 12)],
    },
}


def split(example, outdir):
    os.makedirs(outdir, exist_ok=True)
    if example == "hillstrom":
        data = pd.read_csv(os.path.join(ROOT, "examples", "hillstrom", "hillstrom.csv"))
        order = np.random.default_rng(HILLSTROM_SEED).permutation(len(data))
        is_test = np.zeros(len(data), dtype=bool)
        is_test[order[: int(round(HILLSTROM_TEST_SHARE * len(data)))]] = True
        rule = (f"seeded random {HILLSTROM_TEST_SHARE:.0%} test: "
                f"numpy default_rng({HILLSTROM_SEED}).permutation, first "
                f"{is_test.sum()} indices")
    else:
        data = pd.read_csv(os.path.join(ROOT, "examples", "dominicks-oj", "orangeJuice_yx.csv"))
        # Derived columns, written into the files until promo run derives them itself.
        data["units"] = np.exp(data["logmove"])
        prices = data[[f"price{i}" for i in range(1, 12)]].to_numpy()
        data["price"] = prices[np.arange(len(data)), data["brand"].to_numpy() - 1]
        last_week = data["week"].max()
        is_test = (data["week"] > last_week - OJ_TEST_WEEKS).to_numpy()
        rule = (f"test = the last {OJ_TEST_WEEKS} weeks (week > {last_week - OJ_TEST_WEEKS}); "
                "units = exp(logmove) and price = price<brand> written into both files")
    data[~is_test].to_csv(os.path.join(outdir, "train.csv"), index=False, float_format="%.17g")
    data[is_test].to_csv(os.path.join(outdir, "test.csv"), index=False, float_format="%.17g")
    print(f"{example}: {(~is_test).sum()} train rows, {is_test.sum()} test rows; {rule}")


def metrics(task, y, p):
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if task == "binary":
        clipped = np.clip(p, 1e-15, 1 - 1e-15)
        return {"AUC": roc_auc_score(y, p), "log loss": log_loss(y, clipped, labels=[0, 1]),
                "PR AUC": average_precision_score(y, p)}
    positive = np.maximum(p, 1e-12)
    return {"RMSE": float(np.sqrt(mean_squared_error(y, p))),
            "MAE": mean_absolute_error(y, p),
            "WAPE": float(np.abs(y - p).sum() / np.abs(y).sum()),
            "Poisson deviance": mean_poisson_deviance(y, positive)}


def write_metrics(outdir, name, example, values, seconds, note):
    record = {"model": name, "example": example, "metrics": values, "fit_seconds": seconds,
              "note": note}
    with open(os.path.join(outdir, f"metrics_{name}.json"), "w") as f:
        json.dump(record, f, indent=1)
    shown = ", ".join(f"{k} {v:.5g}" for k, v in values.items())
    print(f"{example} {name}: {shown} (fit {seconds:.1f} s)")


def design(spec):
    return ColumnTransformer([
        ("num", StandardScaler(), spec["numeric"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), spec["categorical"]),
    ])


def fit_xgboost(spec, train, test):
    import xgboost as xgb

    # The same kind of holdout promo train uses for early stopping: a random 20% of the
    # training rows.
    rng = np.random.default_rng(MODEL_SEED)
    holdout = rng.random(len(train)) < 0.2
    encoder = design(spec).fit(train[~holdout])
    params = dict(n_estimators=2000, learning_rate=0.05, max_depth=6, subsample=0.8,
                  colsample_bytree=0.8, random_state=MODEL_SEED, n_jobs=2,
                  early_stopping_rounds=50, tree_method="hist")
    if spec["task"] == "binary":
        model = xgb.XGBClassifier(objective="binary:logistic", eval_metric="logloss", **params)
    else:
        model = xgb.XGBRegressor(objective="count:poisson", eval_metric="poisson-nloglik", **params)
    y = train[spec["target"]].to_numpy()
    model.fit(encoder.transform(train[~holdout]), y[~holdout],
              eval_set=[(encoder.transform(train[holdout]), y[holdout])], verbose=False)
    x_test = encoder.transform(test)
    p = model.predict_proba(x_test)[:, 1] if spec["task"] == "binary" else model.predict(x_test)
    note = (f"xgboost {xgb.__version__}, max_depth 6, eta 0.05, subsample 0.8, "
            f"{model.best_iteration + 1} trees (early stop on 20% of train)")
    return p, note


def fit_linear(spec, train, test):
    y = train[spec["target"]].to_numpy()
    if spec["task"] == "binary":
        model = make_pipeline(design(spec), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(train, y)
        return model.predict_proba(test)[:, 1], "scikit-learn LogisticRegression, C 1"
    model = make_pipeline(design(spec), PoissonRegressor(alpha=1e-4, max_iter=3000))
    model.fit(train, y)
    return model.predict(test), "scikit-learn PoissonRegressor (log link), alpha 1e-4"


def baselines(example, outdir):
    spec = EXAMPLES[example]
    train = pd.read_csv(os.path.join(outdir, "train.csv"))
    test = pd.read_csv(os.path.join(outdir, "test.csv"))
    linear_name = "logistic" if spec["task"] == "binary" else "poisson_glm"
    for name, fit in (("xgboost", fit_xgboost), (linear_name, fit_linear)):
        start = time.perf_counter()
        p, note = fit(spec, train, test)
        seconds = time.perf_counter() - start
        write_metrics(outdir, name, example, metrics(spec["task"], test[spec["target"]], p),
                      seconds, note)


def score(example, outdir, name, pred_path, seconds, note):
    spec = EXAMPLES[example]
    test = pd.read_csv(os.path.join(outdir, "test.csv"))
    pred = pd.read_csv(pred_path)
    if len(pred) != len(test):
        sys.exit(f"{pred_path}: {len(pred)} rows, but test.csv has {len(test)}")
    write_metrics(outdir, name, example,
                  metrics(spec["task"], test[spec["target"]], pred["prediction"]), seconds, note)


def table(outdirs):
    """Print one Markdown table per folder. Runs named "NAME seed N" are grouped into one
    row with the mean over seeds and, below the table, the range of each metric."""
    for outdir in outdirs:
        records = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(outdir, "metrics_*.json")))]
        if not records:
            continue
        groups = {}
        for r in records:
            groups.setdefault(r["model"].split(" seed ")[0], []).append(r)
        names = list(records[0]["metrics"])
        print(f"\n{records[0]['example']}\n")
        print("| model | runs | " + " | ".join(names) + " | fit s |")
        print("|---" * (len(names) + 3) + "|")
        order = sorted(groups, key=lambda g: (g.startswith("promo"), g))
        for g in order:
            runs = groups[g]
            cells = " | ".join(f"{np.mean([r['metrics'][n] for r in runs]):.4f}" for n in names)
            seconds = np.mean([r["fit_seconds"] for r in runs])
            print(f"| {g} | {len(runs)} | {cells} | {seconds:.1f} |")
        print()
        for g in order:
            runs = groups[g]
            spread = ""
            if len(runs) > 1:
                spread = "; over seeds " + ", ".join(
                    f"{n} {min(r['metrics'][n] for r in runs):.4f}-{max(r['metrics'][n] for r in runs):.4f}"
                    for n in names)
            print(f"- {g}: {runs[0]['note']}{spread}")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    command = argv[1]
    if command == "table":
        table(argv[2:])
    elif command in ("split", "baselines", "score") and len(argv) >= 4 and argv[2] in EXAMPLES:
        if command == "split":
            split(argv[2], argv[3])
        elif command == "baselines":
            baselines(argv[2], argv[3])
        else:
            if len(argv) != 8:
                sys.exit("usage: quality.py score EXAMPLE OUTDIR NAME PRED.csv SECONDS NOTE")
            score(argv[2], argv[3], argv[4], argv[5], float(argv[6]), argv[7])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
