#!/bin/bash
# The three-guest example of the kernel documentation
# (Documentation/arch/s390/vfio-ap.rst, "Example"), step by step:
#
#   Guest1: adapters 5, 6   domains 4, 0xab
#   Guest2: adapter  5      domains 0x47, 0xff
#   Guest3: adapter  6      domains 0x47, 0xff
#
# Needs adapters 5 and 6 (CEX4 or newer) with usage domains 4, 0x47, 0xab and
# 0xff, and vfio_ap loaded.  The mdevs get the UUIDs in $UUID1, $UUID2, $UUID3,
# or new ones.  Prints each guest's UUID, matrix and guest_matrix.
set -euo pipefail

AP=/sys/bus/ap
MATRIX=/sys/devices/vfio_ap/matrix
TYPE=$MATRIX/mdev_supported_types/vfio_ap-passthrough

new_uuid() { uuidgen 2>/dev/null || cat /proc/sys/kernel/random/uuid; }
uuid1=${UUID1:-$(new_uuid)}
uuid2=${UUID2:-$(new_uuid)}
uuid3=${UUID3:-$(new_uuid)}

for card in card05 card06; do
    if [ ! -d $AP/devices/$card ]; then
        echo "${0##*/}: $card is missing: this example needs adapters 5 and 6" >&2
        exit 1
    fi
done

# 2. Secure the AP queues to be used by the three guests.
echo -5,-6 > $AP/apmask
echo -4,-0x47,-0xab,-0xff > $AP/aqmask

for q in 05.0004 05.0047 05.00ab 05.00ff 06.0004 06.0047 06.00ab 06.00ff; do
    if [ ! -e $AP/drivers/vfio_ap/$q ]; then
        echo "${0##*/}: queue $q is not bound to vfio_ap" >&2
        exit 1
    fi
done
echo "secured: $(cd $AP/drivers/vfio_ap && echo 0[56].*)"

# 3. Create the mediated devices for the three guests.
echo "$uuid1" > $TYPE/create
echo "$uuid2" > $TYPE/create
echo "$uuid3" > $TYPE/create

# 4. Configure the matrixes.
cd $MATRIX/"$uuid1"             # Guest1
echo 5 > assign_adapter
echo 6 > assign_adapter
echo 4 > assign_domain
echo 0xab > assign_domain

cd $MATRIX/"$uuid2"             # Guest2
echo 5 > assign_adapter
echo 0x47 > assign_domain
echo 0xff > assign_domain

cd $MATRIX/"$uuid3"             # Guest3
echo 6 > assign_adapter
echo 0x47 > assign_domain
echo 0xff > assign_domain

# Show what each guest gets.
n=1
for uuid in "$uuid1" "$uuid2" "$uuid3"; do
    echo "Guest$n: $uuid"
    echo "  matrix:       $(paste -sd' ' $MATRIX/"$uuid"/matrix)"
    echo "  guest_matrix: $(paste -sd' ' $MATRIX/"$uuid"/guest_matrix)"
    n=$((n + 1))
done
echo "Start each guest with -device vfio-ap,sysfsdev=$MATRIX/UUID"
