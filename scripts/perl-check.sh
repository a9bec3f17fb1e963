#!/usr/bin/env bash
# Part of `npm run lint`: `perl -c -w` on every Perl file netlab ships (assets/*.pl, and any file
# in bin/ or examples/ that is Perl by its name or its #! line). Fails on an error and on any
# warning: the only output accepted is perl's "FILE syntax OK". Compiling runs no helper's main
# code (its BEGIN blocks and `use` lines only), so nothing here touches the machine.
set -uo pipefail
cd "$(dirname "$0")/.."
files=(assets/*.pl)
while IFS= read -r f; do
  case "$f" in
    *.pl | *.pm) files+=("$f") ;;
    *) head -n1 "$f" | grep -q '^#!.*\bperl\b' && files+=("$f") ;;
  esac
done < <(find bin examples -type f 2>/dev/null | sort)
status=0
for f in "${files[@]}"; do
  out=$(perl -c -w "$f" 2>&1)
  if [ $? -ne 0 ] || [ "$out" != "$f syntax OK" ]; then
    printf 'perl -c -w %s:\n%s\n' "$f" "$out" >&2
    status=1
  fi
done
[ $status -eq 0 ] || echo "perl-check: fix the Perl warnings and errors above" >&2
exit $status
