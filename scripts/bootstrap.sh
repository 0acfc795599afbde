#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for Iris: system packages (libtorch, the PyTorch reference
# used by the tests, Fashion-MNIST), then the npm workspace (which builds the native addon) and
# the TypeScript. Safe to re-run: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-onnx checks exported ONNX files in the tests; chromium runs the browser export tests.
# libopenblas0 replaces the reference BLAS that libtorch's matmuls would otherwise use (both
# Iris and the PyTorch reference link the same system BLAS).
packages=(libtorch-dev python3-torch python3-torchvision dataset-fashion-mnist libopenblas0 g++ make python3 python3-onnx chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
[ -f packages/torch/build/Release/iris_torch.node ] || npm run build:native -w @iris/torch
npm run build
