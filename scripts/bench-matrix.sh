#!/usr/bin/env bash
# bench-matrix.sh runs the benchmark matrix of docs/BENCHMARKS.md ("The
# store matrix"): for SQLite and PostgreSQL, at 10,000, 100,000 and
# 1,000,000 instances, one `moat bench` run each (describe with its bare
# net/http baseline, release, create, mixed, a 100,000-expiry lifecycle
# catch-up, memory), then the lifecycle catch-up with three replicas
# sharing the 1,000,000-instance PostgreSQL database, once under a
# describe load and once alone. Each run writes
# <store>-<instances>.json (+ .txt table, .log progress) into one
# directory, and the end prints the Markdown tables for the doc
# (`moat bench --summarize`, also saved as summary.md).
#
# Every run is an ordinary `moat bench` command; the table's "command"
# column (and the .txt files) show it, so any row can be re-run alone.
#
# Run it on a quiet machine: it takes about 30 minutes on a 2-core VM
# (estimate in docs/BENCHMARKS.md; seeding 1,000,000 instances into
# PostgreSQL is the largest part).
#
# Settings (environment):
#   PG_URL     PostgreSQL server        (postgres://postgres@127.0.0.1:5432/postgres)
#   STORES     stores to run            ("sqlite postgres")
#   SIZES      instance counts          ("10000 100000 1000000")
#   SCENARIOS  scenarios of a row       (describe,baseline,release,create,mixed,lifecycle,memory)
#   REPLICAS   replicas of the extra lifecycle run; 0 skips it (3)
#   REPLICA_SIZE  the size whose PostgreSQL database that run reuses (largest of SIZES)
#   OUT        result directory         (bench-results/matrix-<timestamp>); rerunning
#              with the same OUT skips the runs whose JSON file exists
#   EXTRA      more flags for every run (e.g. "--duration 20s")
set -uo pipefail

cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
STORES=${STORES:-sqlite postgres}
SIZES=${SIZES:-10000 100000 1000000}
SCENARIOS=${SCENARIOS:-describe,baseline,release,create,mixed,lifecycle,memory}
REPLICAS=${REPLICAS:-3}
REPLICA_SIZE=${REPLICA_SIZE:-$(printf '%s\n' $SIZES | sort -n | tail -1)}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-bench-results/matrix-$STAMP}
EXTRA=${EXTRA:-}

mkdir -p "$OUT"
echo "bench-matrix: building ./moat"
go build -o moat ./cmd/moat || exit 1

read -r load1 _ </proc/loadavg
if awk -v l="$load1" 'BEGIN { exit !(l > 1.0) }'; then
	echo "bench-matrix: warning: load average is $load1; other jobs on this machine will lower every figure" >&2
fi

# The PostgreSQL database of REPLICA_SIZE gets a name of its own, so that
# the replica run can reuse it (a URL naming a moat_bench_* database is
# kept by moat bench); it is dropped at the end. Every other PostgreSQL
# run gets a fresh database that moat bench drops itself.
KEEP_DB=moat_bench_matrix_${STAMP//-/_}
KEEP_URL=$(printf '%s' "$PG_URL" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?#\1/$KEEP_DB#")
kept=0
drop_kept() {
	[[ $kept == 1 ]] || return 0
	if command -v psql >/dev/null; then
		psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $KEEP_DB WITH (FORCE)" &&
			echo "bench-matrix: dropped database $KEEP_DB"
	else
		echo "bench-matrix: drop the database $KEEP_DB yourself (no psql here)" >&2
	fi
}
trap drop_kept EXIT

failed=()
total_start=$SECONDS

# run NAME ARGS... runs one moat bench into $OUT/NAME.{json,txt,log}.
run() {
	local name=$1
	shift
	if [[ -s $OUT/$name.json ]]; then
		echo "bench-matrix: $name: $OUT/$name.json exists, skipped"
		return 0
	fi
	local start=$SECONDS
	echo "bench-matrix: $name: ./moat bench $*"
	# The table (stdout) and the progress (stderr) go to the terminal and
	# to files.
	# shellcheck disable=SC2086
	./moat bench "$@" $EXTRA --out "$OUT/$name.json" > >(tee "$OUT/$name.txt") 2> >(tee "$OUT/$name.log" >&2)
	local rc=$?
	echo "bench-matrix: $name: exit $rc after $((SECONDS - start)) s"
	[[ $rc == 0 ]] || failed+=("$name")
}

for store in $STORES; do
	for n in $SIZES; do
		case $store in
		sqlite)
			run "sqlite-$n" --instances "$n" --scenarios "$SCENARIOS"
			;;
		postgres)
			if [[ $REPLICAS -gt 1 && $n == "$REPLICA_SIZE" ]]; then
				kept=1
				run "postgres-$n" --db "$KEEP_URL" --instances "$n" --scenarios "$SCENARIOS"
				# The same database (seeding skipped), N replicas: the
				# baseline for the ratio, the catch-up, every replica's RSS.
				run "postgres-$n-${REPLICAS}replicas" --db "$KEEP_URL" --replicas "$REPLICAS" --instances "$n" \
					--scenarios baseline,lifecycle,memory
				# The catch-up alone: no describe load competing with it
				# for the two cores.
				run "postgres-$n-${REPLICAS}replicas-noload" --db "$KEEP_URL" --replicas "$REPLICAS" --instances "$n" \
					--scenarios baseline,lifecycle --lifecycle-connections 0
			else
				run "postgres-$n" --db "$PG_URL" --instances "$n" --scenarios "$SCENARIOS"
			fi
			;;
		*)
			echo "bench-matrix: unknown store $store (sqlite or postgres)" >&2
			exit 2
			;;
		esac
	done
done

echo
echo "bench-matrix: all runs took $(((SECONDS - total_start) / 60)) min $(((SECONDS - total_start) % 60)) s; results in $OUT"
shopt -s nullglob
jsons=("$OUT"/*.json)
if ((${#jsons[@]})); then
	./moat bench --summarize "${jsons[@]}" | tee "$OUT/summary.md"
fi
if ((${#failed[@]})); then
	echo "bench-matrix: failed: ${failed[*]}" >&2
	exit 1
fi
