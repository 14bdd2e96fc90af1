#!/bin/sh
# Put Prometheus's promtool at $1 (default .tools/bin/promtool), from Debian's `prometheus`
# package, unless it is already there. The alert tests (tests/deploy/test_alerts.py) run it.
#
# A promtool already on PATH is linked instead. Otherwise the package is downloaded and only the
# promtool binary is unpacked: `apt-get install prometheus` would also add a system user and, on
# a machine with an init system, start a Prometheus server, none of which the tests need.
# A clean machine has no package lists yet: then `apt-get update` runs first (as root).
set -eu

target="${1:-.tools/bin/promtool}"
if [ -x "$target" ]; then
  exit 0
fi
mkdir -p "$(dirname "$target")"

if existing="$(command -v promtool)"; then
  ln -sf "$existing" "$target"
  echo "promtool: using $existing"
  exit 0
fi

if ! command -v apt-get > /dev/null || ! command -v dpkg-deb > /dev/null; then
  echo "promtool is missing and this is not a Debian-based machine: install Prometheus's" >&2
  echo "promtool (2.x) and put it on PATH, or at $target" >&2
  exit 1
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
target_dir="$(cd "$(dirname "$target")" && pwd)"

cd "$workdir"
if ! apt-get download -q prometheus > download.log 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    cat download.log >&2
    echo "cannot download Debian's prometheus package: run 'sudo apt-get update' and retry" >&2
    exit 1
  fi
  apt-get update -q
  apt-get download -q prometheus
fi

dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xf - ./usr/bin/promtool
install -m 0755 usr/bin/promtool "$target_dir/promtool.tmp"
mv "$target_dir/promtool.tmp" "$target_dir/$(basename "$target")"
"$target_dir/$(basename "$target")" --version | head -n 1
