"""Time scikit-learn on the feature work bench/bench_features.c times in promo.

Standardize + one-hot + PCA, fitted and then applied, on the columns promo chose. Run with
Debian's interpreter, which can import python3-sklearn 1.2, NumPy 1.24 and pandas 1.5:

    /usr/bin/python3 bench/features_sklearn.py --columns COLUMNS.json [--repeat 3]
        [--solvers randomized,full] CSV

COLUMNS.json is the "columns" line that bench_features prints first, so both tools use
the same numeric and categorical columns. stdout gets one JSON object per line: a
"columns" record with the read time, then one "run" record per PCA solver and repeat.
NumPy's BLAS threads come from the environment (OPENBLAS_NUM_THREADS); the records name
the BLAS library, kernel and thread count that threadpoolctl reports.

The numeric steps match promo's standardize encoder exactly. StandardScaler computes the
mean and standard deviation over the non-missing values (it ignores NaN), then
SimpleImputer(strategy="mean", add_indicator=True) puts the mean of the scaled column, 0,
into the gaps and adds a 0/1 indicator column, as promo does for every column that had
missing training values. --impute-first puts the imputer before the scaler instead. That
is the same amount of work, but the standard deviation then counts the imputed values, so
the explained variance ratios no longer match promo's.
"""

import argparse
import inspect
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

try:
    import threadpoolctl
except ImportError:  # python3-threadpoolctl not installed: report no BLAS details
    threadpoolctl = None

# The markers promo reads as missing (promo_value_is_missing), added to pandas' defaults.
NA_VALUES = ["NA", "N/A", "#N/A", "NULL", "null", "\\N", "-", "NaN", "nan"]


def machine_busy_s():
    """CPU seconds the whole machine has spent busy since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def blas_info():
    if threadpoolctl is None:
        return []
    return [
        {key: lib.get(key) for key in ("internal_api", "version", "architecture",
                                       "num_threads", "threading_layer")}
        for lib in threadpoolctl.threadpool_info()
        if lib.get("user_api") == "blas"
    ]


def read_table(path, numeric):
    """Read the CSV and make every numeric column float64.

    promo's decimal parser accepts currency signs (¥12.50) but pandas does not, so the
    signs are stripped from columns that pandas left as text. Text that still does not
    parse becomes NaN, because promo marks it invalid and missing.
    """
    start = time.perf_counter()
    df = pd.read_csv(path, na_values=NA_VALUES, keep_default_na=True, low_memory=False)
    read_s = time.perf_counter() - start

    start = time.perf_counter()
    for name in numeric:
        if df[name].dtype == object:
            text = df[name].str.replace(r"^\s*[¥￥]", "", regex=True)
            df[name] = pd.to_numeric(text, errors="coerce")
        df[name] = df[name].astype(np.float64)
    convert_s = time.perf_counter() - start
    return df, read_s, convert_s


def make_encoder(numeric, categorical, impute_first):
    if impute_first:
        steps = [("impute", SimpleImputer(strategy="mean", add_indicator=True)),
                 ("scale", StandardScaler())]
    else:
        steps = [("scale", StandardScaler()),
                 ("impute", SimpleImputer(strategy="mean", add_indicator=True))]
    # Missing categories stay NaN, and OneHotEncoder gives NaN a column of its own. The
    # dense-output flag is sparse_output from scikit-learn 1.2 on and sparse before.
    dense = ({"sparse_output": False}
             if "sparse_output" in inspect.signature(OneHotEncoder).parameters
             else {"sparse": False})
    one_hot = OneHotEncoder(handle_unknown="ignore", **dense)
    return ColumnTransformer(
        [("numeric", Pipeline(steps), numeric), ("categorical", one_hot, categorical)],
        sparse_threshold=0.0)


def run_once(df, numeric, categorical, solver, n_components, impute_first):
    times = {}
    start = time.perf_counter()
    encoder = make_encoder(numeric, categorical, impute_first)
    X = encoder.fit_transform(df)
    times["fit_encode_s"] = time.perf_counter() - start

    start = time.perf_counter()
    pca = PCA(n_components=n_components, svd_solver=solver, random_state=0)
    pca.fit(X)
    times["fit_pca_s"] = time.perf_counter() - start
    del X

    start = time.perf_counter()
    X = encoder.transform(df)
    times["apply_encode_s"] = time.perf_counter() - start

    start = time.perf_counter()
    Z = pca.transform(X)
    times["apply_pca_s"] = time.perf_counter() - start

    one_hot = encoder.named_transformers_["categorical"]
    levels = {name: sum(1 for c in cats if not (isinstance(c, float) and np.isnan(c)))
              for name, cats in zip(categorical, one_hot.categories_)}
    return times, X.shape, Z.shape, pca.explained_variance_ratio_.tolist(), levels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv")
    parser.add_argument("--columns", required=True,
                        help="JSON file with the columns record of bench_features")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per solver (3)")
    parser.add_argument("--warmup", type=int, default=0,
                        help="runs before those, reported with repeat 0 (0)")
    parser.add_argument("--solvers", default="randomized",
                        help="comma-separated PCA svd_solver values (randomized)")
    parser.add_argument("--components", type=int, default=10, help="PCA components (10)")
    parser.add_argument("--impute-first", action="store_true",
                        help="SimpleImputer before StandardScaler (see the module docstring)")
    args = parser.parse_args()

    with open(args.columns, encoding="utf-8") as f:
        chosen = json.load(f)
    numeric, categorical = chosen["numeric"], chosen["categorical"]

    df, read_s, convert_s = read_table(args.csv, numeric)
    df = df[numeric + categorical]
    blas = blas_info()
    print(json.dumps({"record": "columns", "tool": "sklearn", "n_rows": len(df),
                      "read_s": read_s, "convert_s": convert_s, "load_s": read_s + convert_s,
                      "sklearn": sklearn.__version__, "numpy": np.__version__,
                      "pandas": pd.__version__, "blas": blas}), flush=True)

    for solver in args.solvers.split(","):
        for repeat in range(1 - args.warmup, args.repeat + 1):
            busy_before, own_before = machine_busy_s(), process_cpu_s()
            times, x_shape, z_shape, ratios, levels = run_once(
                df, numeric, categorical, solver, args.components, args.impute_first)
            other_cpu_s = (machine_busy_s() - busy_before) - (process_cpu_s() - own_before)
            mismatched = {name: [levels[name], chosen["dictionary_sizes"][name]]
                          for name in categorical
                          if levels[name] != chosen["dictionary_sizes"][name]}
            if mismatched:
                sys.exit("features_sklearn.py: one-hot levels [sklearn, promo] differ: "
                         + json.dumps(mismatched, ensure_ascii=False))
            fit_s = times["fit_encode_s"] + times["fit_pca_s"]
            apply_s = times["apply_encode_s"] + times["apply_pca_s"]
            record = {"record": "run", "tool": "sklearn", "solver": solver,
                      "impute_first": args.impute_first,
                      "threads": blas[0]["num_threads"] if blas else None,
                      "repeat": max(repeat, 0), "n_rows": x_shape[0], "d": x_shape[1],
                      **times, "fit_s": fit_s, "apply_s": apply_s, "total_s": fit_s + apply_s,
                      "other_cpu_s": other_cpu_s,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
                      "explained_variance_ratio": ratios}
            assert z_shape == (x_shape[0], args.components)
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
