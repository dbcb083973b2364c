#!/usr/bin/env bash
# Install the Debian packages promo needs to build and test, only those missing, and
# generate the zh_CN.UTF-8 locale where the system allows it. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config gettext locales
  libjansson-dev libxxhash-dev libcmocka-dev
  libopenblas-dev liblapacke-dev libglpk-dev libyaml-dev
  clang libclang-rt-14-dev libomp-dev
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "deps.sh: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Chinese messages work without this locale (promo falls back to C.UTF-8), but with it
# LANG=zh_CN.UTF-8 behaves as users expect in every other program too.
if ! locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$'; then
  if [ -f /etc/locale.gen ] && command -v locale-gen >/dev/null; then
    as_root sed -i 's/^# *\(zh_CN.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^zh_CN.UTF-8 UTF-8' /etc/locale.gen || echo 'zh_CN.UTF-8 UTF-8' | as_root tee -a /etc/locale.gen >/dev/null
    as_root locale-gen >/dev/null || echo "deps.sh: could not generate zh_CN.UTF-8; --lang zh still works" >&2
  fi
fi
