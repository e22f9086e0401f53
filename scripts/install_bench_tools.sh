#!/usr/bin/env bash
# wrk drives the HTTP benchmarks (bench/bench_oidc.py, bench/bench_exchange.py) from the second core.
set -euo pipefail
command -v wrk >/dev/null 2>&1 && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq wrk >/dev/null
