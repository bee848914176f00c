#!/usr/bin/env bash
# Whether the registration and reset forms take the same time for an address
# with an account and for one without (they do the same work: a link, a mail,
# an audit entry). Runs BenchmarkEnumeration COUNT times (default 6) on
# SQLite and prints, per form, the median time of each and their ratio.
#
# Usage: bench/enumeration.sh        Environment: COUNT (6), BENCHTIME (200x)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "$(go env GOTOOLCHAIN)" = local ]; then export GOTOOLCHAIN=auto; fi
out=$(go test ./cmd/civico -run '^$' -bench '^BenchmarkEnumeration$' -benchtime "${BENCHTIME:-200x}" -count "${COUNT:-6}")
echo "$out" | awk '
  /^BenchmarkEnumeration\// {
    split($1, p, "/"); form = p[2]; kind = p[3]; sub(/-[0-9]+$/, "", kind)
    v[form "/" kind] = v[form "/" kind] " " $3
  }
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "| form | known address | unknown address | known/unknown |\n| --- | ---: | ---: | ---: |\n"
    n = split("registrati password-dimenticata", forms, " ")
    for (i = 1; i <= n; i++) {
      k = median(v[forms[i] "/known"]); u = median(v[forms[i] "/unknown"])
      printf "| /%s | %.0f µs | %.0f µs | %.2f |\n", forms[i], k / 1000, u / 1000, k / u
    }
  }'
