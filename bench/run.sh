#!/bin/sh
# bench/run.sh is `make bench`: relay's benchmarks in one run, about eight
# minutes on a 2-core machine. It needs only Go and Linux (/proc): the
# load generator, the baseline server and the fake Chatwork are Go
# programs in this directory, so nothing is installed.
#
#   1. end to end (bench/relaybench): the relay binary with its SQLite
#      outbox (synchronous=FULL) in $TMPDIR: durable ingest at 1, 8 and 64
#      clients against bench/baseline; storms of 100, 1,000, 5,000 and
#      10,000 alerts to one room of the strict fake Chatwork; single alerts
#      every 2 s (steady); memory idle and with 100,000 undelivered
#      messages; and, with PostgreSQL, the failover of two replicas;
#   2. the package benchmarks (go test -bench), each with a CPU profile.
#
# Results go to $BENCH_OUT (default bench/out): results.md (the tables),
# go-bench.txt, and profiles/*.pprof to read with `go tool pprof`.
# Arguments are passed to relaybench, e.g. bench/run.sh -only ingest -clients 64.
# BENCH_PACKAGES=0 skips the package benchmarks.
set -eu

GO=${GO:-go}
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out}
mkdir -p "$out/profiles"
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

echo "building relay, baseline and relaybench" >&2
CGO_ENABLED=0 $GO build -trimpath -o "$work/relay" ./cmd/relay
$GO build -trimpath -o "$work/baseline" ./bench/baseline
$GO build -trimpath -o "$work/relaybench" ./bench/relaybench

{
	echo "## Machine"
	echo
	echo "- CPUs: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "- disk of \$TMPDIR: $(df -PT "$work" | awk 'NR==2 {print $2 " on " $1}')"
	echo "- $($GO version)"
	echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo
	echo "## End to end"
	echo
} >"$out/results.md"

# The failover runs need PostgreSQL: RELAY_BENCH_POSTGRES, else the test
# database of RELAY_TEST_POSTGRES_URL (each run in a schema of its own,
# dropped after); without either they are skipped.
pg=${RELAY_BENCH_POSTGRES:-${RELAY_TEST_POSTGRES_URL:-}}
if [ -n "$pg" ]; then
	set -- -postgres "$pg" "$@"
fi
"$work/relaybench" -relay "$work/relay" -baseline "$work/baseline" -dir "$work" "$@" >>"$out/results.md"

if [ "${BENCH_PACKAGES:-1}" != 0 ]; then
	echo "package benchmarks" >&2
	: >"$out/go-bench.txt"
	for spec in \
		"internal/outbox/sqlite Enqueue 2s" \
		"internal/templates Render 1s" \
		"internal/alert DecodeAlertmanager 1s" \
		"internal/limiter Take 1s" \
		"internal/dispatcher Storm 1x"; do
		set -- $spec
		name=$(echo "$1" | tr / -)
		$GO test -run '^$' -bench "$2" -benchmem -benchtime "$3" \
			-cpuprofile "$out/profiles/$name.cpu.pprof" -memprofile "$out/profiles/$name.mem.pprof" -o "$work/$name.test" "./$1" | tee -a "$out/go-bench.txt" >&2
	done
	{
		echo "## Package benchmarks"
		echo
		echo '```'
		grep -E '^(Benchmark|ok|pkg:)' "$out/go-bench.txt"
		echo '```'
	} >>"$out/results.md"
fi

echo "results: $out/results.md" >&2
cat "$out/results.md"
