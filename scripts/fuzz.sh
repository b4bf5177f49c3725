#!/usr/bin/env bash
# Runs each fuzz target for a fixed number of executions, about 10 s each on a 2-core
# machine (6 targets), on top of the seed corpora that `go test` already runs. A failure
# leaves the input that failed in the package's testdata/fuzz/<target>/ (commit it once
# fixed: it becomes a regression case).
#
# Counts, not durations: with a duration, Go 1.26's fuzz coordinator can fail a target with
# a bare "context deadline exceeded" when the time runs out while a worker is busy
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
#
#   bash scripts/fuzz.sh                 # every target, its count
#   FUZZTIME=5m bash scripts/fuzz.sh     # longer, by hand (any -fuzztime value)
set -euo pipefail
cd "$(dirname "$0")/.."
export HOME="${HOME:-/root}"
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

targets=(
	"./pkg/dockerignore FuzzDockerignore 12000x"
	"./pkg/buildcontext FuzzTarExcludes 500x"
	"./pkg/buildcontext FuzzFromReader 45000x"
	"./pkg/jsonstream FuzzDisplay 120000x"
	"./pkg/jsonstream FuzzPlainMatchesDocker 150000x"
	"./internal/opts FuzzFlagValues 180000x"
)
start=$SECONDS
for t in "${targets[@]}"; do
	read -r pkg name count <<<"$t"
	fuzztime="${FUZZTIME:-$count}"
	echo "== fuzz $name ($pkg, $fuzztime)"
	# -fuzzminimizetime bounds the minimisation of each new input: targets that start
	# goroutines (the tar stream) have slightly unsteady coverage, and minimising such
	# an input for the default 60 s would stall the run.
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 10x "$pkg"
done
echo "== fuzzing done in $((SECONDS - start))s"
