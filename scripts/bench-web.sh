#!/bin/sh
# Runs the website benchmark: moat serve --dataplane beside nginx as the
# same reverse proxy, to the same origin. Installs Debian's nginx when
# missing (the tests do not need it). Extra arguments go to moat bench, e.g.
#   scripts/bench-web.sh --web-duration 10s
set -eu
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null 2>&1; then
	apt-get update && apt-get install -y nginx
fi
go build -o moat ./cmd/moat
exec ./moat bench --scenarios web "$@"
