#!/usr/bin/env bash
# Prints the path of a Python >= 3.12 (prefers 3.13). Exits 1 with a clear message when none exists.
# Never 3.11: PySide6 6.12 over-releases None on 3.11 and the process aborts (docs/architecture.md).
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
cands=()
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for v in 3.13.0 3.13 3.12.1 3.12; do
    [ -x "$root/versions/$v/bin/python3" ] && cands+=("$root/versions/$v/bin/python3")
  done
  for d in "$root"/versions/3.13* "$root"/versions/3.12*; do
    [ -x "$d/bin/python3" ] && cands+=("$d/bin/python3")
  done
fi
for n in python3.13 python3.12 python3; do
  p=$(command -v "$n" 2>/dev/null) && cands+=("$p")
done
for c in "${cands[@]}"; do
  if ok "$c"; then echo "$c"; exit 0; fi
done
echo "courier: no Python >= 3.12 found (tried pyenv versions and python3.13/python3.12/python3 on PATH). Install Python 3.13." >&2
exit 1
