#!/usr/bin/env bash
# Installs what localfargate needs on a fresh Debian machine: gocryptfs, fuse3 and e2fsprogs (the
# encrypted storage driver on sized ext4 volumes; without them tasks use the plain driver and the
# server says so), the container tools (skopeo, umoci, crun, catatonit), then the npm packages and
# the compiled server. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gocryptfs >/dev/null 2>&1 || ! command -v fusermount3 >/dev/null 2>&1 || ! command -v mkfs.ext4 >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing gocryptfs, fuse3, e2fsprogs and wrk (bench) from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq gocryptfs fuse3 e2fsprogs wrk >/dev/null
  else
    echo "setup: gocryptfs/fuse3 not installed and cannot apt-get here; tasks will use the plain storage driver"
  fi
fi
# Containers (docs/ecs-fargate.md, "Images" and "Container runtime"): skopeo copies images into
# the store, umoci unpacks them, tar reads archive indexes, crun runs the containers, catatonit is
# the init for initProcessEnabled, iproute2 and nftables build each task's network namespace;
# busybox-static is what the tests build their images from.
if ! command -v skopeo >/dev/null 2>&1 || ! command -v umoci >/dev/null 2>&1 || ! command -v tar >/dev/null 2>&1 || ! command -v crun >/dev/null 2>&1 || ! command -v catatonit >/dev/null 2>&1 || ! command -v nft >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1 || ! dpkg -s busybox-static >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing skopeo, umoci, tar, crun, catatonit, iproute2, nftables and busybox-static (containers) from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq skopeo umoci tar crun catatonit iproute2 nftables busybox-static >/dev/null
  else
    echo "setup: container tools (skopeo, umoci, crun, catatonit, iproute2, nftables, busybox-static) missing and cannot apt-get here; tasks run as host processes, and image load and the container tests say what is missing"
  fi
fi
# The web console's browser tests (test/browser/) drive Debian's chromium with playwright-core;
# without it they are skipped with that reason.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium (the console's browser tests) from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium missing and cannot apt-get here; the console's browser tests are skipped without it"
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# compile the server ahead (npm ci does it through `prepare`; this covers an install kept from before)
node scripts/build.mjs
