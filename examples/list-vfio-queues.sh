#!/bin/sh
# list-vfio-queues: the AP queues bound to vfio_ap and the mdev each one is assigned to
# ("free" when none). The tool under test in test-my-tool.ts. Like s390-tools, it reads
# sysfs below $SYSFS_ROOT (default /sys).
set -eu
sys=${SYSFS_ROOT:-/sys}

for q in "$sys"/bus/ap/drivers/vfio_ap/??.????; do
    [ -e "$q" ] || continue                     # no queue: the pattern itself
    q=${q##*/}
    owner=free
    for mdev in "$sys"/devices/vfio_ap/matrix/*-*-*-*-*; do
        [ -e "$mdev/matrix" ] || continue
        if grep -qx "$q" "$mdev/matrix"; then owner=${mdev##*/}; fi
    done
    echo "$q $owner"
done
