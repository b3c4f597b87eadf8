/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/sysfs/tree.ts > TAP > the full tree of the default topology (snapshot) > tree listing 1`] = `
/bus/
/bus/ap/
/bus/ap/ap_domain 0644
/bus/ap/ap_control_domain_mask 0444
/bus/ap/ap_usage_domain_mask 0444
/bus/ap/ap_adapter_mask 0444
/bus/ap/config_time 0644
/bus/ap/poll_thread 0644
/bus/ap/ap_interrupts 0444
/bus/ap/poll_timeout 0644
/bus/ap/ap_max_domain_id 0444
/bus/ap/ap_max_adapter_id 0444
/bus/ap/apmask 0644
/bus/ap/aqmask 0644
/bus/ap/scans 0644
/bus/ap/bindings 0444
/bus/ap/features 0444
/bus/ap/drivers_autoprobe 0644
/bus/ap/drivers_probe 0200
/bus/ap/uevent 0200
/bus/ap/devices/
/bus/ap/devices/card04 -> ../../../devices/ap/card04
/bus/ap/devices/04.0004 -> ../../../devices/ap/card04/04.0004
/bus/ap/devices/04.0006 -> ../../../devices/ap/card04/04.0006
/bus/ap/devices/04.0047 -> ../../../devices/ap/card04/04.0047
/bus/ap/devices/04.0054 -> ../../../devices/ap/card04/04.0054
/bus/ap/devices/card05 -> ../../../devices/ap/card05
/bus/ap/devices/05.0004 -> ../../../devices/ap/card05/05.0004
/bus/ap/devices/05.0006 -> ../../../devices/ap/card05/05.0006
/bus/ap/devices/05.0047 -> ../../../devices/ap/card05/05.0047
/bus/ap/devices/05.0054 -> ../../../devices/ap/card05/05.0054
/bus/ap/devices/card06 -> ../../../devices/ap/card06
/bus/ap/devices/06.0004 -> ../../../devices/ap/card06/06.0004
/bus/ap/devices/06.0006 -> ../../../devices/ap/card06/06.0006
/bus/ap/devices/06.0047 -> ../../../devices/ap/card06/06.0047
/bus/ap/devices/06.0054 -> ../../../devices/ap/card06/06.0054
/bus/ap/devices/card0b -> ../../../devices/ap/card0b
/bus/ap/devices/0b.0004 -> ../../../devices/ap/card0b/0b.0004
/bus/ap/devices/0b.0006 -> ../../../devices/ap/card0b/0b.0006
/bus/ap/devices/0b.0047 -> ../../../devices/ap/card0b/0b.0047
/bus/ap/devices/0b.0054 -> ../../../devices/ap/card0b/0b.0054
/bus/ap/drivers/
/bus/ap/drivers/cex4card/
/bus/ap/drivers/cex4card/bind 0200
/bus/ap/drivers/cex4card/unbind 0200
/bus/ap/drivers/cex4card/uevent 0200
/bus/ap/drivers/cex4card/card04 -> ../../../../devices/ap/card04
/bus/ap/drivers/cex4card/card05 -> ../../../../devices/ap/card05
/bus/ap/drivers/cex4card/card06 -> ../../../../devices/ap/card06
/bus/ap/drivers/cex4card/card0b -> ../../../../devices/ap/card0b
/bus/ap/drivers/cex4queue/
/bus/ap/drivers/cex4queue/bind 0200
/bus/ap/drivers/cex4queue/unbind 0200
/bus/ap/drivers/cex4queue/uevent 0200
/bus/ap/drivers/cex4queue/04.0004 -> ../../../../devices/ap/card04/04.0004
/bus/ap/drivers/cex4queue/04.0006 -> ../../../../devices/ap/card04/04.0006
/bus/ap/drivers/cex4queue/04.0047 -> ../../../../devices/ap/card04/04.0047
/bus/ap/drivers/cex4queue/04.0054 -> ../../../../devices/ap/card04/04.0054
/bus/ap/drivers/cex4queue/05.0004 -> ../../../../devices/ap/card05/05.0004
/bus/ap/drivers/cex4queue/05.0006 -> ../../../../devices/ap/card05/05.0006
/bus/ap/drivers/cex4queue/05.0047 -> ../../../../devices/ap/card05/05.0047
/bus/ap/drivers/cex4queue/05.0054 -> ../../../../devices/ap/card05/05.0054
/bus/ap/drivers/cex4queue/06.0004 -> ../../../../devices/ap/card06/06.0004
/bus/ap/drivers/cex4queue/06.0006 -> ../../../../devices/ap/card06/06.0006
/bus/ap/drivers/cex4queue/06.0047 -> ../../../../devices/ap/card06/06.0047
/bus/ap/drivers/cex4queue/06.0054 -> ../../../../devices/ap/card06/06.0054
/bus/ap/drivers/cex4queue/0b.0004 -> ../../../../devices/ap/card0b/0b.0004
/bus/ap/drivers/cex4queue/0b.0006 -> ../../../../devices/ap/card0b/0b.0006
/bus/ap/drivers/cex4queue/0b.0047 -> ../../../../devices/ap/card0b/0b.0047
/bus/ap/drivers/cex4queue/0b.0054 -> ../../../../devices/ap/card0b/0b.0054
/bus/ap/drivers/vfio_ap/
/bus/ap/drivers/vfio_ap/bind 0200
/bus/ap/drivers/vfio_ap/unbind 0200
/bus/ap/drivers/vfio_ap/uevent 0200
/bus/matrix/
/bus/matrix/drivers_autoprobe 0644
/bus/matrix/drivers_probe 0200
/bus/matrix/uevent 0200
/bus/matrix/devices/
/bus/matrix/devices/matrix -> ../../../devices/vfio_ap/matrix
/bus/matrix/drivers/
/bus/matrix/drivers/vfio_ap/
/bus/matrix/drivers/vfio_ap/uevent 0200
/bus/matrix/drivers/vfio_ap/matrix -> ../../../../devices/vfio_ap/matrix
/bus/mdev/
/bus/mdev/drivers_autoprobe 0644
/bus/mdev/drivers_probe 0200
/bus/mdev/uevent 0200
/bus/mdev/devices/
/bus/mdev/drivers/
/bus/mdev/drivers/vfio_ap_mdev/
/bus/mdev/drivers/vfio_ap_mdev/bind 0200
/bus/mdev/drivers/vfio_ap_mdev/unbind 0200
/bus/mdev/drivers/vfio_ap_mdev/uevent 0200
/devices/
/devices/ap/
/devices/ap/uevent 0644
/devices/ap/card04/
/devices/ap/card04/hwtype 0444
/devices/ap/card04/raw_hwtype 0444
/devices/ap/card04/depth 0444
/devices/ap/card04/ap_functions 0444
/devices/ap/card04/request_count 0644
/devices/ap/card04/requestq_count 0444
/devices/ap/card04/pendingq_count 0444
/devices/ap/card04/modalias 0444
/devices/ap/card04/config 0644
/devices/ap/card04/chkstop 0444
/devices/ap/card04/max_msg_size 0444
/devices/ap/card04/type 0444
/devices/ap/card04/online 0644
/devices/ap/card04/load 0444
/devices/ap/card04/serialnr 0444
/devices/ap/card04/uevent 0644
/devices/ap/card04/driver -> ../../../bus/ap/drivers/cex4card
/devices/ap/card04/subsystem -> ../../../bus/ap
/devices/ap/card04/04.0004/
/devices/ap/card04/04.0004/request_count 0644
/devices/ap/card04/04.0004/requestq_count 0444
/devices/ap/card04/04.0004/pendingq_count 0444
/devices/ap/card04/04.0004/reset 0644
/devices/ap/card04/04.0004/interrupt 0444
/devices/ap/card04/04.0004/config 0444
/devices/ap/card04/04.0004/chkstop 0444
/devices/ap/card04/04.0004/ap_functions 0444
/devices/ap/card04/04.0004/online 0644
/devices/ap/card04/04.0004/load 0444
/devices/ap/card04/04.0004/uevent 0644
/devices/ap/card04/04.0004/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card04/04.0004/subsystem -> ../../../../bus/ap
/devices/ap/card04/04.0006/
/devices/ap/card04/04.0006/request_count 0644
/devices/ap/card04/04.0006/requestq_count 0444
/devices/ap/card04/04.0006/pendingq_count 0444
/devices/ap/card04/04.0006/reset 0644
/devices/ap/card04/04.0006/interrupt 0444
/devices/ap/card04/04.0006/config 0444
/devices/ap/card04/04.0006/chkstop 0444
/devices/ap/card04/04.0006/ap_functions 0444
/devices/ap/card04/04.0006/online 0644
/devices/ap/card04/04.0006/load 0444
/devices/ap/card04/04.0006/uevent 0644
/devices/ap/card04/04.0006/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card04/04.0006/subsystem -> ../../../../bus/ap
/devices/ap/card04/04.0047/
/devices/ap/card04/04.0047/request_count 0644
/devices/ap/card04/04.0047/requestq_count 0444
/devices/ap/card04/04.0047/pendingq_count 0444
/devices/ap/card04/04.0047/reset 0644
/devices/ap/card04/04.0047/interrupt 0444
/devices/ap/card04/04.0047/config 0444
/devices/ap/card04/04.0047/chkstop 0444
/devices/ap/card04/04.0047/ap_functions 0444
/devices/ap/card04/04.0047/online 0644
/devices/ap/card04/04.0047/load 0444
/devices/ap/card04/04.0047/uevent 0644
/devices/ap/card04/04.0047/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card04/04.0047/subsystem -> ../../../../bus/ap
/devices/ap/card04/04.0054/
/devices/ap/card04/04.0054/request_count 0644
/devices/ap/card04/04.0054/requestq_count 0444
/devices/ap/card04/04.0054/pendingq_count 0444
/devices/ap/card04/04.0054/reset 0644
/devices/ap/card04/04.0054/interrupt 0444
/devices/ap/card04/04.0054/config 0444
/devices/ap/card04/04.0054/chkstop 0444
/devices/ap/card04/04.0054/ap_functions 0444
/devices/ap/card04/04.0054/online 0644
/devices/ap/card04/04.0054/load 0444
/devices/ap/card04/04.0054/uevent 0644
/devices/ap/card04/04.0054/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card04/04.0054/subsystem -> ../../../../bus/ap
/devices/ap/card05/
/devices/ap/card05/hwtype 0444
/devices/ap/card05/raw_hwtype 0444
/devices/ap/card05/depth 0444
/devices/ap/card05/ap_functions 0444
/devices/ap/card05/request_count 0644
/devices/ap/card05/requestq_count 0444
/devices/ap/card05/pendingq_count 0444
/devices/ap/card05/modalias 0444
/devices/ap/card05/config 0644
/devices/ap/card05/chkstop 0444
/devices/ap/card05/max_msg_size 0444
/devices/ap/card05/type 0444
/devices/ap/card05/online 0644
/devices/ap/card05/load 0444
/devices/ap/card05/serialnr 0444
/devices/ap/card05/uevent 0644
/devices/ap/card05/driver -> ../../../bus/ap/drivers/cex4card
/devices/ap/card05/subsystem -> ../../../bus/ap
/devices/ap/card05/05.0004/
/devices/ap/card05/05.0004/request_count 0644
/devices/ap/card05/05.0004/requestq_count 0444
/devices/ap/card05/05.0004/pendingq_count 0444
/devices/ap/card05/05.0004/reset 0644
/devices/ap/card05/05.0004/interrupt 0444
/devices/ap/card05/05.0004/config 0444
/devices/ap/card05/05.0004/chkstop 0444
/devices/ap/card05/05.0004/ap_functions 0444
/devices/ap/card05/05.0004/online 0644
/devices/ap/card05/05.0004/load 0444
/devices/ap/card05/05.0004/uevent 0644
/devices/ap/card05/05.0004/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card05/05.0004/subsystem -> ../../../../bus/ap
/devices/ap/card05/05.0006/
/devices/ap/card05/05.0006/request_count 0644
/devices/ap/card05/05.0006/requestq_count 0444
/devices/ap/card05/05.0006/pendingq_count 0444
/devices/ap/card05/05.0006/reset 0644
/devices/ap/card05/05.0006/interrupt 0444
/devices/ap/card05/05.0006/config 0444
/devices/ap/card05/05.0006/chkstop 0444
/devices/ap/card05/05.0006/ap_functions 0444
/devices/ap/card05/05.0006/online 0644
/devices/ap/card05/05.0006/load 0444
/devices/ap/card05/05.0006/uevent 0644
/devices/ap/card05/05.0006/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card05/05.0006/subsystem -> ../../../../bus/ap
/devices/ap/card05/05.0047/
/devices/ap/card05/05.0047/request_count 0644
/devices/ap/card05/05.0047/requestq_count 0444
/devices/ap/card05/05.0047/pendingq_count 0444
/devices/ap/card05/05.0047/reset 0644
/devices/ap/card05/05.0047/interrupt 0444
/devices/ap/card05/05.0047/config 0444
/devices/ap/card05/05.0047/chkstop 0444
/devices/ap/card05/05.0047/ap_functions 0444
/devices/ap/card05/05.0047/online 0644
/devices/ap/card05/05.0047/load 0444
/devices/ap/card05/05.0047/uevent 0644
/devices/ap/card05/05.0047/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card05/05.0047/subsystem -> ../../../../bus/ap
/devices/ap/card05/05.0054/
/devices/ap/card05/05.0054/request_count 0644
/devices/ap/card05/05.0054/requestq_count 0444
/devices/ap/card05/05.0054/pendingq_count 0444
/devices/ap/card05/05.0054/reset 0644
/devices/ap/card05/05.0054/interrupt 0444
/devices/ap/card05/05.0054/config 0444
/devices/ap/card05/05.0054/chkstop 0444
/devices/ap/card05/05.0054/ap_functions 0444
/devices/ap/card05/05.0054/online 0644
/devices/ap/card05/05.0054/load 0444
/devices/ap/card05/05.0054/uevent 0644
/devices/ap/card05/05.0054/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card05/05.0054/subsystem -> ../../../../bus/ap
/devices/ap/card06/
/devices/ap/card06/hwtype 0444
/devices/ap/card06/raw_hwtype 0444
/devices/ap/card06/depth 0444
/devices/ap/card06/ap_functions 0444
/devices/ap/card06/request_count 0644
/devices/ap/card06/requestq_count 0444
/devices/ap/card06/pendingq_count 0444
/devices/ap/card06/modalias 0444
/devices/ap/card06/config 0644
/devices/ap/card06/chkstop 0444
/devices/ap/card06/max_msg_size 0444
/devices/ap/card06/type 0444
/devices/ap/card06/online 0644
/devices/ap/card06/load 0444
/devices/ap/card06/uevent 0644
/devices/ap/card06/driver -> ../../../bus/ap/drivers/cex4card
/devices/ap/card06/subsystem -> ../../../bus/ap
/devices/ap/card06/06.0004/
/devices/ap/card06/06.0004/request_count 0644
/devices/ap/card06/06.0004/requestq_count 0444
/devices/ap/card06/06.0004/pendingq_count 0444
/devices/ap/card06/06.0004/reset 0644
/devices/ap/card06/06.0004/interrupt 0444
/devices/ap/card06/06.0004/config 0444
/devices/ap/card06/06.0004/chkstop 0444
/devices/ap/card06/06.0004/ap_functions 0444
/devices/ap/card06/06.0004/online 0644
/devices/ap/card06/06.0004/load 0444
/devices/ap/card06/06.0004/uevent 0644
/devices/ap/card06/06.0004/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card06/06.0004/subsystem -> ../../../../bus/ap
/devices/ap/card06/06.0006/
/devices/ap/card06/06.0006/request_count 0644
/devices/ap/card06/06.0006/requestq_count 0444
/devices/ap/card06/06.0006/pendingq_count 0444
/devices/ap/card06/06.0006/reset 0644
/devices/ap/card06/06.0006/interrupt 0444
/devices/ap/card06/06.0006/config 0444
/devices/ap/card06/06.0006/chkstop 0444
/devices/ap/card06/06.0006/ap_functions 0444
/devices/ap/card06/06.0006/online 0644
/devices/ap/card06/06.0006/load 0444
/devices/ap/card06/06.0006/uevent 0644
/devices/ap/card06/06.0006/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card06/06.0006/subsystem -> ../../../../bus/ap
/devices/ap/card06/06.0047/
/devices/ap/card06/06.0047/request_count 0644
/devices/ap/card06/06.0047/requestq_count 0444
/devices/ap/card06/06.0047/pendingq_count 0444
/devices/ap/card06/06.0047/reset 0644
/devices/ap/card06/06.0047/interrupt 0444
/devices/ap/card06/06.0047/config 0444
/devices/ap/card06/06.0047/chkstop 0444
/devices/ap/card06/06.0047/ap_functions 0444
/devices/ap/card06/06.0047/online 0644
/devices/ap/card06/06.0047/load 0444
/devices/ap/card06/06.0047/uevent 0644
/devices/ap/card06/06.0047/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card06/06.0047/subsystem -> ../../../../bus/ap
/devices/ap/card06/06.0054/
/devices/ap/card06/06.0054/request_count 0644
/devices/ap/card06/06.0054/requestq_count 0444
/devices/ap/card06/06.0054/pendingq_count 0444
/devices/ap/card06/06.0054/reset 0644
/devices/ap/card06/06.0054/interrupt 0444
/devices/ap/card06/06.0054/config 0444
/devices/ap/card06/06.0054/chkstop 0444
/devices/ap/card06/06.0054/ap_functions 0444
/devices/ap/card06/06.0054/online 0644
/devices/ap/card06/06.0054/load 0444
/devices/ap/card06/06.0054/uevent 0644
/devices/ap/card06/06.0054/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card06/06.0054/subsystem -> ../../../../bus/ap
/devices/ap/card0b/
/devices/ap/card0b/hwtype 0444
/devices/ap/card0b/raw_hwtype 0444
/devices/ap/card0b/depth 0444
/devices/ap/card0b/ap_functions 0444
/devices/ap/card0b/request_count 0644
/devices/ap/card0b/requestq_count 0444
/devices/ap/card0b/pendingq_count 0444
/devices/ap/card0b/modalias 0444
/devices/ap/card0b/config 0644
/devices/ap/card0b/chkstop 0444
/devices/ap/card0b/max_msg_size 0444
/devices/ap/card0b/type 0444
/devices/ap/card0b/online 0644
/devices/ap/card0b/load 0444
/devices/ap/card0b/API_ordinalnr 0444
/devices/ap/card0b/FW_version 0444
/devices/ap/card0b/serialnr 0444
/devices/ap/card0b/op_modes 0444
/devices/ap/card0b/uevent 0644
/devices/ap/card0b/driver -> ../../../bus/ap/drivers/cex4card
/devices/ap/card0b/subsystem -> ../../../bus/ap
/devices/ap/card0b/0b.0004/
/devices/ap/card0b/0b.0004/request_count 0644
/devices/ap/card0b/0b.0004/requestq_count 0444
/devices/ap/card0b/0b.0004/pendingq_count 0444
/devices/ap/card0b/0b.0004/reset 0644
/devices/ap/card0b/0b.0004/interrupt 0444
/devices/ap/card0b/0b.0004/config 0444
/devices/ap/card0b/0b.0004/chkstop 0444
/devices/ap/card0b/0b.0004/ap_functions 0444
/devices/ap/card0b/0b.0004/online 0644
/devices/ap/card0b/0b.0004/load 0444
/devices/ap/card0b/0b.0004/uevent 0644
/devices/ap/card0b/0b.0004/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card0b/0b.0004/subsystem -> ../../../../bus/ap
/devices/ap/card0b/0b.0006/
/devices/ap/card0b/0b.0006/request_count 0644
/devices/ap/card0b/0b.0006/requestq_count 0444
/devices/ap/card0b/0b.0006/pendingq_count 0444
/devices/ap/card0b/0b.0006/reset 0644
/devices/ap/card0b/0b.0006/interrupt 0444
/devices/ap/card0b/0b.0006/config 0444
/devices/ap/card0b/0b.0006/chkstop 0444
/devices/ap/card0b/0b.0006/ap_functions 0444
/devices/ap/card0b/0b.0006/online 0644
/devices/ap/card0b/0b.0006/load 0444
/devices/ap/card0b/0b.0006/uevent 0644
/devices/ap/card0b/0b.0006/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card0b/0b.0006/subsystem -> ../../../../bus/ap
/devices/ap/card0b/0b.0047/
/devices/ap/card0b/0b.0047/request_count 0644
/devices/ap/card0b/0b.0047/requestq_count 0444
/devices/ap/card0b/0b.0047/pendingq_count 0444
/devices/ap/card0b/0b.0047/reset 0644
/devices/ap/card0b/0b.0047/interrupt 0444
/devices/ap/card0b/0b.0047/config 0444
/devices/ap/card0b/0b.0047/chkstop 0444
/devices/ap/card0b/0b.0047/ap_functions 0444
/devices/ap/card0b/0b.0047/online 0644
/devices/ap/card0b/0b.0047/load 0444
/devices/ap/card0b/0b.0047/uevent 0644
/devices/ap/card0b/0b.0047/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card0b/0b.0047/subsystem -> ../../../../bus/ap
/devices/ap/card0b/0b.0054/
/devices/ap/card0b/0b.0054/request_count 0644
/devices/ap/card0b/0b.0054/requestq_count 0444
/devices/ap/card0b/0b.0054/pendingq_count 0444
/devices/ap/card0b/0b.0054/reset 0644
/devices/ap/card0b/0b.0054/interrupt 0444
/devices/ap/card0b/0b.0054/config 0444
/devices/ap/card0b/0b.0054/chkstop 0444
/devices/ap/card0b/0b.0054/ap_functions 0444
/devices/ap/card0b/0b.0054/online 0644
/devices/ap/card0b/0b.0054/load 0444
/devices/ap/card0b/0b.0054/uevent 0644
/devices/ap/card0b/0b.0054/driver -> ../../../../bus/ap/drivers/cex4queue
/devices/ap/card0b/0b.0054/subsystem -> ../../../../bus/ap
/devices/vfio_ap/
/devices/vfio_ap/uevent 0644
/devices/vfio_ap/matrix/
/devices/vfio_ap/matrix/features 0444
/devices/vfio_ap/matrix/uevent 0644
/devices/vfio_ap/matrix/driver -> ../../../bus/matrix/drivers/vfio_ap
/devices/vfio_ap/matrix/subsystem -> ../../../bus/matrix
/devices/vfio_ap/matrix/mdev_supported_types/
/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/
/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create 0200
/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances 0444
/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/device_api 0444
/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/name 0444
/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/devices/
/kernel/
/kernel/iommu_groups/
/class/
/class/mdev_bus/
/class/mdev_bus/matrix -> ../../devices/vfio_ap/matrix
/class/zcrypt/
/class/zcrypt/create 0600
/class/zcrypt/destroy 0600

`
