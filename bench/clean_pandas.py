"""Clean a CSV with pandas the way `promo clean --missing median` does, and time each step.

This is the peer that bench/bench_clean.sh runs next to promo. It reads with the same
missing-value markers and converts text columns that hold numbers with a currency sign.
Then it drops exact duplicate rows, fills each numeric column's missing cells with its
median and each other column's with its mode, and writes the result as CSV. It prints one
JSON line on stdout with the seconds per step, the total and the peak resident memory.

pandas runs these steps on one thread. Run it with Debian's interpreter, which can import the
python3-pandas package: /usr/bin/python3 bench/clean_pandas.py IN.csv OUT.csv
"""

import argparse
import json
import resource
import sys
import time

import numpy as np
import pandas as pd

# Cells that mean "missing". keep_default_na=True keeps pandas' own list as well (empty, NA,
# N/A, NULL, null, nan and others). Of the markers here, only \N and - are not in it.
NA_VALUES = ["NA", "N/A", "NULL", "null", "\\N", "-", "nan"]

# Leading signs stripped before a text value is tried as a number: U+00A5 YEN SIGN and
# U+FFE5 FULLWIDTH YEN SIGN.
CURRENCY_PATTERN = r"^\s*[\u00a5\uffe5]\s*"

# A text column becomes numeric when at least this share of a sample of its values parses
# as a number after the currency sign is stripped.
NUMERIC_SHARE = 0.9
SAMPLE_SIZE = 1000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="CSV file with a header row")
    parser.add_argument("output", help="cleaned CSV to write")
    return parser.parse_args()


def convert_currency_columns(df):
    """Convert text columns whose values are numbers, some with a currency sign, to float.

    Returns the names of the converted columns and how many of their values failed to parse
    and became missing.
    """
    converted = []
    n_unparsed = 0
    for name in df.columns[df.dtypes == object]:
        column = df[name]
        sample = column.dropna().head(SAMPLE_SIZE)
        if sample.empty:
            continue
        stripped = sample.str.replace(CURRENCY_PATTERN, "", regex=True)
        share = pd.to_numeric(stripped, errors="coerce").notna().mean()
        if share < NUMERIC_SHARE:
            continue
        numbers = pd.to_numeric(column.str.replace(CURRENCY_PATTERN, "", regex=True),
                                errors="coerce")
        n_unparsed += int(numbers.isna().sum() - column.isna().sum())
        df[name] = numbers
        converted.append(name)
    return converted, n_unparsed


def fill_missing(df):
    """Fill numeric columns with their median and the others with their mode, in place.

    Returns the number of cells filled. A column with no value at all stays missing.
    """
    n_filled = 0
    for name in df.columns:
        column = df[name]
        n_missing = int(column.isna().sum())
        if n_missing == 0:
            continue
        if pd.api.types.is_numeric_dtype(column):
            fill = column.median()
        else:
            modes = column.mode(dropna=True)
            fill = modes.iloc[0] if not modes.empty else np.nan
        if pd.isna(fill):
            continue
        df[name] = column.fillna(fill)
        n_filled += n_missing
    return n_filled


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    args = parse_args()
    timings = {}
    start = time.perf_counter()

    step = time.perf_counter()
    df = pd.read_csv(args.input, na_values=NA_VALUES, keep_default_na=True, low_memory=False)
    timings["read_s"] = time.perf_counter() - step
    n_rows_in = len(df)

    step = time.perf_counter()
    converted, n_unparsed = convert_currency_columns(df)
    timings["convert_s"] = time.perf_counter() - step

    step = time.perf_counter()
    df = df.drop_duplicates()
    timings["dedup_s"] = time.perf_counter() - step
    n_duplicates = n_rows_in - len(df)

    step = time.perf_counter()
    n_filled = fill_missing(df)
    timings["fill_s"] = time.perf_counter() - step

    step = time.perf_counter()
    df.to_csv(args.output, index=False)
    timings["write_s"] = time.perf_counter() - step

    timings["total_s"] = time.perf_counter() - start
    result = {
        "tool": "pandas",
        "pandas_version": pd.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "threads": 1,
        "rows_in": n_rows_in,
        "rows_out": len(df),
        "columns": len(df.columns),
        "duplicates_dropped": n_duplicates,
        "cells_filled": n_filled,
        "currency_columns": converted,
        "unparsed_numbers": n_unparsed,
        **{key: round(value, 3) for key, value in timings.items()},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
