#!/usr/bin/env bash
# Installs the real system parts the tests run against, when missing (Debian packages).
# supervisor: restart_service under a real supervisord; systemd-journal-remote: writes a real
# journal file for read_journal; dnsmasq-base: a real DNS server for probe_dns; openssl: the
# example skill pack; prometheus, prometheus-alertmanager, prometheus-node-exporter: the
# observability skills.
set -euo pipefail
need=()
command -v supervisord >/dev/null || need+=(supervisor)
[ -x /lib/systemd/systemd-journal-remote ] || need+=(systemd-journal-remote)
command -v journalctl >/dev/null || need+=(systemd)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v openssl >/dev/null || need+=(openssl)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
if ((${#need[@]})); then
  echo "installing test dependencies: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# PostgreSQL backs the store tests; start the machine's cluster if it is down.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
# The official MCP Inspector CLI and conformance suite (pinned: newer ones need Node >= 22).
if command -v npm >/dev/null; then
  tools="$(dirname "$0")/../.npm-tools"
  if [ ! -x "$tools/node_modules/.bin/mcp-inspector" ] || [ ! -x "$tools/node_modules/.bin/conformance" ]; then
    echo "installing the MCP Inspector and conformance suite into .npm-tools" >&2
    npm install --silent --no-audit --no-fund --prefix "$tools" \
      @modelcontextprotocol/inspector@0.15.0 @modelcontextprotocol/conformance@0.1.13 >/dev/null
  fi
fi
