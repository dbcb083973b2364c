#!/usr/bin/python3
"""Cut the Dominick's orange-juice sample in this folder from the full bayesm export.

Rule: sort the distinct store numbers ascending and keep every 5th one, starting with
the first (positions 0, 5, 10, ...). That gives 17 of the 83 stores, with all their
brands and weeks. Rows are copied as text lines, unchanged and in their original order,
so no value is rounded or rewritten. The store demographics file is cut the same way.

Usage: /usr/bin/python3 make_sample.py [SOURCE_DIR]
SOURCE_DIR defaults to ../../../shared/data/dominicks-orange-juice relative to this
script (the layout of the machine the sample was made on).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCE = os.path.join(HERE, "..", "..", "..", "shared", "data", "dominicks-orange-juice")
STORE_STEP = 5


def read_lines(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines[0], lines[1:]


def write_lines(path, header, rows):
    with open(path, "wb") as f:
        f.write(header + b"\n")
        for row in rows:
            f.write(row + b"\n")


def main():
    source_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SOURCE

    header, rows = read_lines(os.path.join(source_dir, "orangeJuice_yx.csv"))
    assert header.split(b",")[0] == b"store"
    stores = sorted({int(row.split(b",", 1)[0]) for row in rows})
    kept = set(stores[::STORE_STEP])
    sample = [row for row in rows if int(row.split(b",", 1)[0]) in kept]
    write_lines(os.path.join(HERE, "orangeJuice_yx.csv"), header, sample)

    demo_header, demo_rows = read_lines(os.path.join(source_dir, "orangeJuice_storedemo.csv"))
    assert demo_header.split(b",")[0] == b"STORE"
    demo_sample = [row for row in demo_rows if int(row.split(b",", 1)[0]) in kept]
    write_lines(os.path.join(HERE, "orangeJuice_storedemo.csv"), demo_header, demo_sample)

    print(f"stores kept ({len(kept)} of {len(stores)}): {' '.join(str(s) for s in sorted(kept))}")
    print(f"orangeJuice_yx.csv: {len(sample)} of {len(rows)} rows")
    print(f"orangeJuice_storedemo.csv: {len(demo_sample)} of {len(demo_rows)} rows")


if __name__ == "__main__":
    main()
