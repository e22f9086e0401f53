#!/usr/bin/env bash
# pg_dump / pg_restore for `yiwang backup` and `yiwang restore` on PostgreSQL (postgresql-client from
# Debian). A no-op when they are installed, or when the database is SQLite (nothing to install).
set -euo pipefail
case "${YIWANG_DATABASE_URL:-sqlite}" in postgresql*) ;; *) exit 0 ;; esac
command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq postgresql-client >/dev/null
