#!/bin/bash
# Give AP queues back to the host: put adapters (and domains) back into the
# default-driver pool, so that the AP bus rebinds their queues from vfio_ap to
# cex4queue.  The reverse of vfio-ap-secure-queues.sh.
#
#   vfio-ap-release-queues.sh ADAPTERS [DOMAINS]
#   vfio-ap-release-queues.sh 5,6 4,0x47,0xab,0xff
#
# Nothing is changed while an mdev still has a queue of these adapters or
# domains assigned (the kernel would refuse one of the mask writes with EBUSY
# and leave the other done): the script names the mdevs instead.  Remove them
# first (echo 1 > /sys/devices/vfio_ap/matrix/UUID/remove, or mdevctl stop).
set -euo pipefail

PROG=${0##*/}
die() { echo "$PROG: $*" >&2; exit 1; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $PROG ADAPTER[,ADAPTER...] [DOMAIN[,DOMAIN...]]" >&2
    exit 2
fi
[ -d /sys/bus/ap ] || die "no AP bus here (/sys/bus/ap)"

IFS=, read -ra adapters <<< "$1"
IFS=, read -ra domains <<< "${2:-}"

# holders: "UUID: APQN" for each queue of the adapters or domains in an mdev.
holders() {
    local m apqn a d
    for m in /sys/devices/vfio_ap/matrix/*-*-*-*-*; do
        [ -e "$m/matrix" ] || continue
        while read -r apqn; do
            for a in "${adapters[@]}"; do
                if [ "${apqn%%.*}" = "$(printf '%02x' "$a")" ]; then echo "  ${m##*/}: $apqn"; fi
            done
            for d in "${domains[@]}"; do
                if [ "${apqn##*.}" = "$(printf '%04x' "$d")" ]; then echo "  ${m##*/}: $apqn"; fi
            done
        done < "$m/matrix"
    done | sort -u
}

# mask_write FILE VALUE: the write that may be refused with EBUSY.
mask_write() {
    local err
    if ! err=$( { echo "$2" > "$1"; } 2>&1 ); then
        echo "$PROG: cannot write $2 to $1: ${err##*: }" >&2
        if [ "${err##*: }" = "Device or resource busy" ]; then
            echo "$PROG: these queues are still assigned to mdevs:" >&2
            holders >&2
        fi
        exit 1
    fi
}

in_use=$(holders)
if [ -n "$in_use" ]; then
    echo "$PROG: these queues are still assigned to mdevs:" >&2
    echo "$in_use" >&2
    die "remove the mdevs first; nothing was changed"
fi

plus_list() { local l; l=$(printf -- '+%s,' "$@"); echo "${l%,}"; }

mask_write /sys/bus/ap/apmask "$(plus_list "${adapters[@]}")"
if [ ${#domains[@]} -gt 0 ]; then
    mask_write /sys/bus/ap/aqmask "$(plus_list "${domains[@]}")"
fi

echo "apmask: $(cat /sys/bus/ap/apmask)"
echo "aqmask: $(cat /sys/bus/ap/aqmask)"

# Report the queues of those adapters and domains: back with the host drivers,
# or still vfio_ap's because the other half of their APQN is not reserved.
mine() {        # APQN: is it one of ours?
    local a d
    for a in "${adapters[@]}"; do [ "${1%%.*}" = "$(printf '%02x' "$a")" ] && return 0; done
    for d in "${domains[@]}"; do [ "${1##*.}" = "$(printf '%04x' "$d")" ] && return 0; done
    return 1
}
failed=0
for q in /sys/bus/ap/devices/??.????; do
    [ -e "$q" ] || continue
    mine "${q##*/}" || continue
    driver=$(readlink "$q/driver" || echo none)
    case ${driver##*/} in
        vfio_ap) echo "${q##*/}: vfio_ap (not reserved: apmask or aqmask bit clear)" ;;
        none) echo "${q##*/}: no driver" >&2; failed=1 ;;
        *) echo "${q##*/}: ${driver##*/}" ;;
    esac
done
[ $failed = 0 ] || die "some queues have no driver now"
