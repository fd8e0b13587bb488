#!/usr/bin/env bash
# Installs what localfargate needs on a fresh Debian machine: gocryptfs and fuse3 (the encrypted
# storage driver; without them tasks use the plain driver and the server says so), then the npm
# packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gocryptfs >/dev/null 2>&1 || ! command -v fusermount3 >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing gocryptfs, fuse3 and wrk (bench) from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq gocryptfs fuse3 wrk >/dev/null
  else
    echo "setup: gocryptfs/fuse3 not installed and cannot apt-get here; tasks will use the plain storage driver"
  fi
fi
# container images: skopeo copies images into the store, umoci unpacks them, tar reads archive
# indexes; busybox-static is what the tests build their image from
if ! command -v skopeo >/dev/null 2>&1 || ! command -v umoci >/dev/null 2>&1 || ! command -v tar >/dev/null 2>&1 || ! [ -x /bin/busybox ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing skopeo, umoci, tar and busybox-static (images) from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq skopeo umoci tar busybox-static >/dev/null
  else
    echo "setup: skopeo/umoci not installed and cannot apt-get here; localfargate image load and the image tests need them"
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# compile the server ahead (npm ci does it through `prepare`; this covers an install kept from before)
node scripts/build.mjs
