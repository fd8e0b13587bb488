#!/usr/bin/env bash
# awsvpc prototype: a host bridge lfbr0 10.89.0.1/16 (created by us), per task a netns + veth.
# usage: net.sh bridge-up | bridge-down | up NAME IDX [SERVER_PORT] | down NAME
set -euo pipefail
BR=lfbr0 HOSTIP=10.89.0.1
case $1 in
bridge-up)
  ip link add $BR type bridge; ip addr add $HOSTIP/16 dev $BR; ip link set $BR up ;;
bridge-down) ip link del $BR ;;
up)
  n=$2 idx=$3 port=${4:-}
  ip=10.89.$((idx / 250)).$((idx % 250 + 2))
  ip netns add lf-$n
  ip link add lfh-$n type veth peer name eth0 netns lf-$n
  ip link set lfh-$n master $BR up
  ip -n lf-$n addr add $ip/16 dev eth0
  ip -n lf-$n link set lo up
  ip -n lf-$n link set eth0 up
  ip -n lf-$n route add default via $HOSTIP
  # credentials endpoint: 169.254.170.2:80 in the task -> server on the host side of the bridge
  if [ -n "$port" ]; then
    ip netns exec lf-$n nft -f - <<NFT
table ip lf {
  chain out {
    type nat hook output priority -100;
    ip daddr 169.254.170.2 tcp dport 80 dnat to $HOSTIP:$port
  }
}
NFT
  fi
  echo $ip ;;
down) ip netns del lf-$2 ;;  # deleting the netns destroys the veth pair too
esac
