#!/usr/bin/env bash
# usage: storage.sh up A|B DIR SIZE_GIB  /  storage.sh down A|B DIR
# A: sparse ext4 image file INSIDE the gocryptfs plaintext mount (ext4 blocks land encrypted)
# B: gocryptfs cipher dir ON a sparse ext4 loop mount (df of the plaintext mount = ext4 size)
# master key: 64 hex chars on stdin (here from KEYHEX env for the prototype)
set -euo pipefail
op=$1 layout=$2 d=$3 size=${4:-200}
MKFS_OPTS=(-F -q -O ^has_journal,^resize_inode,sparse_super2 -E lazy_itable_init=1,nodiscard,num_backup_sb=0 -m 0)
gcmount() { # cipher plain ; password = KEYHEX on stdin (the repo's driver wraps the data key as master key)
  # stdout/stderr must not be the caller's pipe: the daemonized gocryptfs keeps it open otherwise
  printf '%s' "$KEYHEX" | gocryptfs -init -q -scryptn 10 -- "$1" >"$d/gocryptfs-init.log" 2>&1
  printf '%s' "$KEYHEX" | gocryptfs -q -nosyslog -allow_other -nodev -nosuid -fsname=ephemeral -- "$1" "$2" >"$d/gocryptfs.log" 2>&1; }
if [ "$op" = up ]; then
  mkdir -p "$d/cipher" "$d/plain" "$d/ext4"
  if [ "$layout" = A ]; then
    gcmount "$d/cipher" "$d/plain"
    truncate -s ${size}G "$d/plain/volume.img"
    mkfs.ext4 "${MKFS_OPTS[@]}" "$d/plain/volume.img"
    mount -o loop,noinit_itable,nodev,nosuid "$d/plain/volume.img" "$d/ext4"
    echo "$d/ext4"
  else
    truncate -s ${size}G "$d/volume.img"
    mkfs.ext4 "${MKFS_OPTS[@]}" "$d/volume.img"
    mount -o loop,noinit_itable,nodev,nosuid "$d/volume.img" "$d/ext4"
    mkdir "$d/ext4/cipher"
    gcmount "$d/ext4/cipher" "$d/plain"
    echo "$d/plain"
  fi
else
  if [ "$layout" = A ]; then umount "$d/ext4"; fusermount3 -u "$d/plain"; else fusermount3 -u "$d/plain"
    # fusermount3 returns before the gocryptfs daemon has closed its files on the ext4: retry
    for i in $(seq 50); do umount "$d/ext4" 2>/dev/null && break; sleep 0.02; done; fi
  rm -rf "$d"
fi
