#!/bin/sh
# Runs the data-plane benchmark: moat serve --dataplane beside HAProxy,
# forwarding to the same origins. Installs Debian's haproxy when missing
# (the tests do not need it). Extra arguments go to moat bench, e.g.
#   scripts/bench-dataplane.sh --dp-duration 10s
set -eu
cd "$(dirname "$0")/.."
if ! command -v haproxy >/dev/null 2>&1; then
	apt-get update && apt-get install -y haproxy
fi
go build -o moat ./cmd/moat
exec ./moat bench --scenarios dataplane "$@"
