#!/usr/bin/python3
"""Copy the Hillstrom e-mail campaign file into this folder, byte for byte.

The whole file (64,000 rows, about 4 MB) fits in the repository, so nothing is cut:
the script copies it and checks the row count and the SHA-256 of the copy.

Usage: /usr/bin/python3 make_sample.py [SOURCE_DIR]
SOURCE_DIR defaults to ../../../shared/data/hillstrom-email-campaign relative to this
script (the layout of the machine the sample was made on).
"""
import hashlib
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCE = os.path.join(HERE, "..", "..", "..", "shared", "data", "hillstrom-email-campaign")


def main():
    source_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SOURCE
    source = os.path.join(source_dir, "hillstrom.csv")
    target = os.path.join(HERE, "hillstrom.csv")
    shutil.copyfile(source, target)

    with open(target, "rb") as f:
        data = f.read()
    # CRLF endings and no line break after the last row, as in the source.
    n_rows = data.count(b"\r\n")
    if n_rows != 64000:
        sys.exit(f"expected 64,000 data rows after the header, found {n_rows}")
    print(f"{target}: {n_rows} rows, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
