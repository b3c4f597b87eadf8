#!/bin/bash
# Tear all AP pass-through down: remove every vfio_ap mdev, drop mdevctl's
# definitions of them (so nothing comes back at the next boot), and give every
# queue back to the host drivers (apmask and aqmask all ones, the boot default).
#
#   vfio-ap-teardown.sh
#
# A guest that still uses an mdev keeps its remove waiting: shut the guests
# down first.
set -euo pipefail

PROG=${0##*/}
MATRIX=/sys/devices/vfio_ap/matrix
ALL=0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff

die() { echo "$PROG: $*" >&2; exit 1; }

[ -d /sys/bus/ap ] || die "no AP bus here (/sys/bus/ap)"

# 1. The mdevs.
if [ -d $MATRIX ]; then
    for mdev in "$MATRIX"/*-*-*-*-*; do
        [ -e "$mdev/remove" ] || continue
        echo "removing mdev ${mdev##*/} ($(paste -sd' ' "$mdev/matrix"))"
        echo 1 > "$mdev/remove"
    done
fi

# 2. Their definitions.
if command -v mdevctl > /dev/null && [ -d /etc/mdevctl.d/matrix ]; then
    for def in /etc/mdevctl.d/matrix/*; do
        [ -f "$def" ] || continue
        echo "undefining mdevctl device ${def##*/}"
        mdevctl undefine -u "${def##*/}" -p matrix
    done
fi

# 3. The masks: every APQN back to the default drivers.
echo $ALL > /sys/bus/ap/apmask
echo $ALL > /sys/bus/ap/aqmask

# Check: no mdev left, no queue with vfio_ap, every queue with a driver.
left=$(ls -d $MATRIX/*-*-*-*-* 2> /dev/null || true)
[ -z "$left" ] || die "mdevs are left: $left"
failed=0
for q in /sys/bus/ap/devices/??.????; do
    [ -e "$q" ] || continue
    driver=$(readlink "$q/driver" || echo none)
    case ${driver##*/} in
        vfio_ap|none) echo "${q##*/}: ${driver##*/}, not a host driver" >&2; failed=1 ;;
    esac
done
[ $failed = 0 ] || die "some queues did not go back to the host"
echo "all queues are back with the host: $(cat /sys/bus/ap/bindings)"
