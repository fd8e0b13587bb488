#!/usr/bin/env bash
# One task start/stop end to end with per-step timings (ms). usage: pipeline.sh NAME IDX LAYOUT
set -euo pipefail
cd "$(dirname "$0")"; HERE=$PWD
n=$1 idx=$2 L=${3:-B} d=$HERE/vol/$1
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
export KEYHEX=$(head -c32 /dev/urandom | xxd -p -c64)
T=$(date +%s%N); t=$T
root=$(./storage.sh up $L $d 200); s_vol=$(ms $t); t=$(date +%s%N)
mkdir -p $root/c; umoci raw unpack --uid-map 0:200000:65536 --gid-map 0:200000:65536 --image cache/store:sha256-71627e79 $root/c/rootfs >/dev/null 2>&1; s_unpack=$(ms $t); t=$(date +%s%N)
ip=$(./net.sh up $n $idx 18080); s_net=$(ms $t); t=$(date +%s%N)
echo '{"command":["httpd -f -p 8080 -h /www"]}' > $d/ov.json
node gen-spec.mjs img/config.json $root/c $root/c/rootfs /var/run/netns/lf-$n $d/ov.json; s_spec=$(ms $t); t=$(date +%s%N)
(cd $root/c && $HERE/crunw run -d $n); s_run=$(ms $t); t=$(date +%s%N)
until curl -s -m1 -o /dev/null http://$ip:8080/index.html; do sleep 0.01; done; s_ready=$(ms $t)
total=$(ms $T); t=$(date +%s%N)
$HERE/crunw kill $n KILL; while $HERE/crunw state $n 2>/dev/null | grep -q running; do sleep 0.01; done; $HERE/crunw delete -f $n; s_stop=$(ms $t); t=$(date +%s%N)
./net.sh down $n; s_netdown=$(ms $t); t=$(date +%s%N)
./storage.sh down $L $d; s_voldown=$(ms $t)
echo "$L vol=$s_vol unpack=$s_unpack net=$s_net spec(node startup)=$s_spec crun-run-d=$s_run listening=$s_ready TOTAL-to-serving=$total | stop=$s_stop netdown=$s_netdown voldown=$s_voldown"
