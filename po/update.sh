#!/usr/bin/env bash
# Regenerate po/promo.pot from the sources listed in po/POTFILES.in and merge it into
# every po/<lang>.po, keeping existing translations. New strings come out untranslated
# and changed ones fuzzy, so translate them until the statistics printed at the end
# show no fuzzy or untranslated messages.
# Usage: po/update.sh (from any folder; needs xgettext and msgmerge from GNU gettext)
set -euo pipefail

po_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$po_dir")
cd "$root"

# A source file with marked strings that POTFILES.in misses would silently stay
# English, so stop and name it. intl.h only defines the macros.
missing=0
while IFS= read -r file; do
  if ! grep -qxF "$file" po/POTFILES.in; then
    echo "update.sh: $file has strings marked with _(), N_() or P_() but is not in po/POTFILES.in; add it" >&2
    missing=1
  fi
done < <(grep -rlE '(^|[^A-Za-z0-9_])(_|N_|P_)\(' --include='*.c' --include='*.h' src |
         grep -vxF 'src/core/intl.h' | LC_ALL=C sort)
while IFS= read -r file; do
  if [ ! -f "$file" ]; then
    echo "update.sh: po/POTFILES.in lists $file, which does not exist; remove it" >&2
    missing=1
  fi
done < <(grep -vE '^[[:space:]]*(#|$)' po/POTFILES.in)
[ "$missing" -eq 0 ] || exit 1

version=$(sed -n 's/^project(promo VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

xgettext --from-code=UTF-8 --language=C \
  --keyword=_ --keyword=N_ --keyword=P_:1,2 \
  --add-comments=TRANSLATORS: \
  --package-name=promo --package-version="${version:-0}" \
  --msgid-bugs-address=none \
  --sort-by-file \
  --files-from=po/POTFILES.in \
  --output=po/promo.pot

for po in po/*.po; do
  msgmerge --quiet --update --backup=none --previous "$po" po/promo.pot
  printf '%s: ' "$po"
  msgfmt --check --statistics -o /dev/null "$po"
done
