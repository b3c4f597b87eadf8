#!/bin/bash
# Create a vfio_ap mediated device and assign a guest's AP matrix to it.
#
#   vfio-ap-create-mdev.sh [-u UUID] ADAPTERS DOMAINS [CONTROL_DOMAINS]
#   vfio-ap-create-mdev.sh 5,6 4,0xab 0xab
#
# Prints the UUID of the new mdev, then its matrix.  Every queue of
# ADAPTERS x DOMAINS must be free for pass-through (vfio-ap-secure-queues.sh)
# and not assigned to another mdev.  If an assignment fails, the half-made
# mdev is removed again.  Control domains default to the usage domains.
# IDs are decimal or 0x hex.  Hand the mdev to QEMU with
#   -device vfio-ap,sysfsdev=/sys/devices/vfio_ap/matrix/UUID
set -euo pipefail

PROG=${0##*/}
TYPE=/sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { echo "usage: $PROG [-u UUID] ADAPTERS DOMAINS [CONTROL_DOMAINS]" >&2; exit 2; }

uuid=
while getopts u: opt; do
    case $opt in
        u) uuid=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || [ $# -eq 3 ] || usage

[ -d "$TYPE" ] || die "no $TYPE: modprobe vfio_ap"
[ -n "$uuid" ] || uuid=$(uuidgen 2>/dev/null || cat /proc/sys/kernel/random/uuid)
MDEV=/sys/devices/vfio_ap/matrix/$uuid

IFS=, read -ra adapters <<< "$1"
IFS=, read -ra domains <<< "$2"
IFS=, read -ra control_domains <<< "${3:-$2}"

instances=$(cat "$TYPE/available_instances")
[ "$instances" -gt 0 ] || die "no more vfio_ap mdevs can be created (available_instances is 0)"

echo "$uuid" > "$TYPE/create"
keep=no
cleanup() {
    if [ $keep = no ]; then
        echo 1 > "$MDEV/remove"
        echo "$PROG: removed $uuid again" >&2
    fi
}
trap cleanup EXIT

# assign FILE ID: echo ID into the mdev's FILE; on failure say why, in words.
assign() {
    local file=$1 id=$2 err
    if ! err=$( { echo "$id" > "$MDEV/$file"; } 2>&1 ); then
        err=${err##*: }
        case $err in
            "Address already in use")
                err="$err: another mdev has one of these queues (see dmesg)" ;;
            "Cannot assign requested address")
                err="$err: a queue is still reserved for the host (apmask/aqmask, see vfio-ap-secure-queues.sh)" ;;
            "No such device")
                err="$err: $id is above the maximum (/sys/bus/ap/ap_max_*_id)" ;;
        esac
        die "$file $id: $err"
    fi
}

for a in "${adapters[@]}"; do assign assign_adapter "$a"; done
for d in "${domains[@]}"; do assign assign_domain "$d"; done
for c in "${control_domains[@]}"; do assign assign_control_domain "$c"; done
keep=yes

echo "$uuid"
echo "matrix:"
sed 's/^/  /' "$MDEV/matrix"
echo "guest_matrix:"
sed 's/^/  /' "$MDEV/guest_matrix"
echo "control_domains: $(paste -sd' ' "$MDEV/control_domains")"
