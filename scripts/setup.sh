#!/usr/bin/env bash
# Install everything netlab needs on Debian/Ubuntu (run as root), then build it.
# Safe to run again: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (sudo $0): it installs Debian packages" >&2
  exit 1
fi
if ! command -v node >/dev/null || [ "$(node -p 'Number(process.versions.node.split(".")[0])')" -lt 20 ]; then
  echo "setup: netlab needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# ip, iptables-restore, perl (the namespace fan-out and the probe's engine), ping, fping and curl
# (for your own hands-on checks inside a lab: netlab exec POD -- curl ...), sysctl, tcpdump (netlab capture), the reference CNI plugins
# (/usr/lib/cni: bridge, host-local, loopback... for cluster.cni and netlab-cni's conformance test).
# nftables: nft, for kube-proxy's nftables mode (cluster.proxy: nftables).
# conntrack: the NetworkPolicy e2e test empties a lab node's connection tracking between steps.
# zsh: only for the test that runs the zsh completion script (a few MB, no recommends).
# bird2: routing bgp runs BIRD in every node (its bird.service is left alone: netlab starts its own, in the lab namespaces)
PACKAGES=(iproute2 iptables nftables perl iputils-ping fping curl procps tcpdump containernetworking-plugins zsh bird2 conntrack)
missing=()
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
