#!/usr/bin/env bash
# Prepare what a lent GPU host (no node, no npm; CUDA, nvcc and PyTorch present) needs to run
# scripts/device-check.sh, under the ignored folder .device/ (carry it, with build/Release):
#   .device/node.xz           this machine's node binary, xz -6 (≈ 23 MB)
#   .device/modules.tar.xz    node_modules without the browser-test packages and TypeScript
#   .device/include/node/     the four N-API headers (scripts/build-cuda.mjs compiles napi.cpp there)
#   .device/commit            the commit (and whether the tree was dirty) the results belong to
# build/Release carries the prebuilt native cpu addon (node-gyp is not on the GPU host).
# Prints the sizes; the device runner carries at most 64 MiB in all.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p .device
xz -6 -T2 -c "$(command -v node)" > .device/node.xz.tmp && mv .device/node.xz.tmp .device/node.xz
tar -C "$ROOT" -cf - --exclude='node_modules/@sparticuz' --exclude='node_modules/puppeteer-core' \
  --exclude='node_modules/chromium-bidi' --exclude='node_modules/devtools-protocol' --exclude='node_modules/typescript' \
  --exclude='node_modules/@puppeteer' --exclude='node_modules/.cache' node_modules \
  | xz -6 -T2 > .device/modules.tar.xz.tmp && mv .device/modules.tar.xz.tmp .device/modules.tar.xz
mkdir -p .device/include/node
for h in node_api.h node_api_types.h js_native_api.h js_native_api_types.h; do
  cp "$(dirname "$(command -v node)")/../include/node/$h" .device/include/node/
done
echo "$(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!.device' || echo '-dirty')" > .device/commit
du -b .device/node.xz .device/modules.tar.xz build/Release/*.node | awk '{ s += $1; printf "%8.1f MiB  %s\n", $1 / 1048576, $2 } END { printf "%8.1f MiB  total\n", s / 1048576 }'
