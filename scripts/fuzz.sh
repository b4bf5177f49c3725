#!/usr/bin/env bash
# Runs each fuzz target for a short fixed time (FUZZTIME, default 10s; 6 targets) on top of
# the seed corpora that `go test` already runs. A failure leaves the input that failed in the
# package's testdata/fuzz/<target>/ (commit it once fixed: it becomes a regression case).
#
#   bash scripts/fuzz.sh                 # every target, 10 s each
#   FUZZTIME=5m bash scripts/fuzz.sh     # longer, by hand
set -euo pipefail
cd "$(dirname "$0")/.."
export HOME="${HOME:-/root}"
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

fuzztime="${FUZZTIME:-10s}"
targets=(
	"./pkg/dockerignore FuzzDockerignore"
	"./pkg/buildcontext FuzzTarExcludes"
	"./pkg/buildcontext FuzzFromReader"
	"./pkg/jsonstream FuzzDisplay"
	"./pkg/jsonstream FuzzPlainMatchesDocker"
	"./internal/opts FuzzFlagValues"
)
start=$SECONDS
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== fuzz $name ($pkg, $fuzztime)"
	# -fuzzminimizetime bounds the minimisation of each new input: targets that start
	# goroutines (the tar stream) have slightly unsteady coverage, and minimising such
	# an input for the default 60 s would stall the run.
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 10x "$pkg"
done
echo "== fuzzing done in $((SECONDS - start))s"
