#!/bin/bash
# Secure AP queues for KVM pass-through: take adapters (and domains) out of the
# host's default-driver pool, so that the AP bus rebinds their queues from
# cex4queue to vfio_ap.
#
#   vfio-ap-secure-queues.sh ADAPTERS [DOMAINS]
#   vfio-ap-secure-queues.sh 5,6 4,0x47,0xab,0xff
#
# A queue (APQN) stays with the host while its adapter bit in apmask AND its
# domain bit in aqmask are both set.  Clearing an adapter's bit gives vfio_ap
# every queue of that adapter; clearing a domain's bit gives it that domain on
# every adapter.  With ADAPTERS only, the adapters go to vfio_ap whole.
# IDs are decimal or 0x hex.  See Documentation/arch/s390/vfio-ap.rst,
# "Securing the APQNs for our example".
set -euo pipefail

die() { echo "${0##*/}: $*" >&2; exit 1; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: ${0##*/} ADAPTER[,ADAPTER...] [DOMAIN[,DOMAIN...]]" >&2
    exit 2
fi

[ -d /sys/bus/ap ] || die "no AP bus here (/sys/bus/ap): is this s390 with the ap module?"
[ -d /sys/bus/ap/drivers/vfio_ap ] || die "vfio_ap is not loaded: modprobe vfio_ap"

IFS=, read -ra adapters <<< "$1"
IFS=, read -ra domains <<< "${2:-}"

# Only CEX4 and newer (hwtype 10 and up) can be bound to vfio_ap.
for a in "${adapters[@]}"; do
    card=/sys/bus/ap/devices/card$(printf '%02x' "$a")
    if [ ! -d "$card" ]; then
        echo "note: adapter $a is not in the configuration; securing it anyway" >&2
        continue
    fi
    hwtype=$(cat "$card/hwtype")
    [ "$hwtype" -ge 10 ] || die "adapter $a has hwtype $hwtype: vfio_ap needs CEX4 or newer (10+)"
done

# "-5,-6": the relative form only touches the bits it names.
apmask=$(printf -- '-%s,' "${adapters[@]}")
echo "${apmask%,}" > /sys/bus/ap/apmask
if [ ${#domains[@]} -gt 0 ]; then
    aqmask=$(printf -- '-%s,' "${domains[@]}")
    echo "${aqmask%,}" > /sys/bus/ap/aqmask
fi

echo "apmask: $(cat /sys/bus/ap/apmask)"
echo "aqmask: $(cat /sys/bus/ap/aqmask)"

# Check that every queue of the secured set went to vfio_ap.
failed=0
check_queue() {
    local apqn=$1 driver
    [ -e "/sys/bus/ap/devices/$apqn" ] || return 0      # not in the configuration
    driver=$(readlink "/sys/bus/ap/devices/$apqn/driver" || echo none)
    if [ "${driver##*/}" = vfio_ap ]; then
        echo "$apqn: vfio_ap"
    else
        echo "$apqn: bound to ${driver##*/}, not vfio_ap" >&2
        failed=1
    fi
}
for a in "${adapters[@]}"; do
    if [ ${#domains[@]} -eq 0 ]; then
        for q in "/sys/bus/ap/devices/$(printf '%02x' "$a")".????; do
            check_queue "${q##*/}"
        done
    else
        for d in "${domains[@]}"; do
            check_queue "$(printf '%02x.%04x' "$a" "$d")"
        done
    fi
done
[ $failed = 0 ] || die "some queues did not go to vfio_ap"
