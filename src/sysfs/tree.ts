/**
 * The sysfs tree of §1 as a view of a Host: path → node, walking the model's device hierarchy.
 * @kernel drivers/base/core.c (device dirs, driver/subsystem links), bus.c (bus dirs),
 *         mdev_core.c / mdev_sysfs.c (parent, types, mdev links), class compat link mdev_bus
 */
import type { Host } from '../model/host.js';
import type { ApCard } from '../model/ap/ap-card.js';
import type { ApQueue } from '../model/ap/ap-queue.js';
import type { ApDevice } from '../model/ap/ap-driver.js';
import type { MatrixMdev } from '../model/vfio_ap/matrix-mdev.js';
import { MDEV_TYPE } from '../model/mdev/mdev-core.js';
import { parseCardName, parseQueueName } from '../model/ap/apqn.js';
import { Errno, KernelError } from '../model/errno.js';
import { rw, type AttrGroup } from './attr.js';
import { apBusAttrs, busCoreAttrs, checkUeventAction } from './groups/ap-bus.js';
import { apCardGroups } from './groups/ap-card.js';
import { apQueueGroups } from './groups/ap-queue.js';
import { vfioApMdevGroups } from './groups/vfio-ap-mdev.js';
import { mdevTypeAttrs } from './groups/mdev-type.js';
import { matrixAttrs } from './groups/matrix.js';
import { zcdnAttrs, zcryptClassAttrs } from './groups/zcrypt.js';
import { iommuGroupAttrs } from './groups/iommu-group.js';
import { driverBindAttrs, driverCoreAttrs, type DriverKobj } from './groups/driver.js';
import { attrDir, link, relLink, staticDir, type DirNode, type Node } from './node.js';
import { SysfsKernfs } from './kernfs.js';
import type { Kernfs } from './kernfs-api.js';

const AP_DEVICES = '/devices/ap';
/** The dynamic char major zcrypt's nodes would get; any value serves, tools read names. */
const ZCRYPT_MAJOR = 239;
const MATRIX = '/devices/vfio_ap/matrix';
const IOMMU_GROUPS = '/kernel/iommu_groups';

const devPath = (d: ApDevice): string => (d.kind === 'card' ? `${AP_DEVICES}/${d.name}` : `${AP_DEVICES}/${d.card.name}/${d.name}`);

/** A device's `uevent` file: what dev_uevent + the bus's uevent callback would put in the environment. */
function ueventGroup<K>(env: (k: K) => string[]): AttrGroup<K> {
  return { attrs: [rw('uevent', (k: K) => env(k).map((l) => `${l}\n`).join(''), (_k: K, buf: string) => checkUeventAction(buf))] };
}

const hexU = (n: number, w: number): string => n.toString(16).toUpperCase().padStart(w, '0');

/** Sorted names of every card and queue, built per listing (devices come and go with the model). */
function apDeviceNames(host: Host): string[] {
  const names: string[] = [];
  for (const id of [...host.bus.cards.keys()].sort((a, b) => a - b)) {
    const card = host.bus.cards.get(id)!;
    names.push(card.name);
    for (const qi of [...card.queues.keys()].sort((a, b) => a - b)) names.push(card.queues.get(qi)!.name);
  }
  return names;
}

export function createTree(host: Host): DirNode {
  const bus = host.bus;
  const md = host.matrixDev;
  const cardGroups = [...apCardGroups(bus), ueventGroup<ApCard>((c) => ['DEVTYPE=ap_card', ...(c.driver ? [`DRIVER=${c.driver.name}`] : []), `DEV_TYPE=${hexU(c.hwtype, 4)}`, `MODALIAS=ap:t${hexU(c.hwtype, 2)}`, `MODE=${c.mode}`])];
  const queueGroups = [...apQueueGroups(bus, md), ueventGroup<ApQueue>((q) => ['DEVTYPE=ap_queue', ...(q.driver ? [`DRIVER=${q.driver.name}`] : []), `MODE=${q.card.mode}`])];
  const mdevGroups = [...vfioApMdevGroups(host), ueventGroup<MatrixMdev>(() => ['DRIVER=vfio_ap_mdev', 'MDEV_TYPE=passthrough'])];
  const activeMdevs = () => md.mdevList.filter((m) => m.state === 'active');
  const mdevByName = (name: string) => md.mdevList.find((m) => m.uuid === name && m.state !== 'removed');

  const queueDir = (q: ApQueue): DirNode => {
    const p = devPath(q);
    return attrDir(q, queueGroups, {
      driver: () => (q.driver ? relLink(`${p}/driver`, `/bus/ap/drivers/${q.driver.name}`) : undefined),
      subsystem: () => relLink(`${p}/subsystem`, '/bus/ap'),
    });
  };
  const cardDir = (c: ApCard): DirNode => {
    const p = devPath(c);
    return attrDir(
      c,
      cardGroups,
      {
        driver: () => (c.driver ? relLink(`${p}/driver`, `/bus/ap/drivers/${c.driver.name}`) : undefined),
        subsystem: () => relLink(`${p}/subsystem`, '/bus/ap'),
      },
      {
        list: () => [...c.queues.keys()].sort((a, b) => a - b).map((qi) => c.queues.get(qi)!.name),
        child: (name) => {
          const qid = parseQueueName(name);
          if (qid === undefined || qid >> 8 !== c.id) return undefined;
          const q = c.queues.get(qid & 0xff);
          return q ? queueDir(q) : undefined;
        },
      },
    );
  };

  // /bus/ap/drivers/<drv>/: bind, unbind, uevent, one link per bound device.
  // One kobj per driver for the tree's life: an open file checks it still resolves to the same one.
  const driverKobjs = new Map<string, DriverKobj>();
  const apDriverDir = (name: string): DirNode | undefined => {
    const drv = bus.driver(name);
    if (!drv) return undefined;
    let kobj = driverKobjs.get(name);
    if (!kobj) {
      kobj = { name, bind: (buf) => bus.bindStore(name, buf), unbind: (buf) => bus.unbindStore(name, buf) };
      driverKobjs.set(name, kobj);
    }
    const dir = `/bus/ap/drivers/${name}`;
    return attrDir(kobj, [driverBindAttrs, driverCoreAttrs], {}, {
      list: () => apDeviceNames(host).filter((n) => bus.deviceByName(n)?.driver === drv),
      child: (n) => {
        const d = bus.deviceByName(n);
        return d && d.driver === drv ? relLink(`${dir}/${n}`, devPath(d)) : undefined;
      },
    });
  };

  const apBusDir = attrDir(bus, [apBusAttrs, busCoreAttrs({ autoprobe: (b) => b.drivers_autoprobe, setAutoprobe: (b, v) => (b.drivers_autoprobe = v), probe: (b, buf) => b.driversProbeStore(buf) })], {
    devices: () => ({
      kind: 'dir',
      list: () => apDeviceNames(host),
      child: (n) => {
        const d = bus.deviceByName(n);
        return d ? relLink(`/bus/ap/devices/${n}`, devPath(d)) : undefined;
      },
    }),
    drivers: () => ({
      kind: 'dir',
      list: () => bus.drivers.map((d) => d.name),
      child: (n) => apDriverDir(n),
    }),
  });

  const mdevDir = (m: MatrixMdev): DirNode => {
    const p = `${MATRIX}/${m.uuid}`;
    return attrDir(m, mdevGroups, {
      // mdev_remove_sysfs_files runs first on removal: the type link goes before the directory.
      mdev_type: () => (m.state === 'active' ? relLink(`${p}/mdev_type`, `${MATRIX}/mdev_supported_types/${MDEV_TYPE.dirName}`) : undefined),
      driver: () => relLink(`${p}/driver`, '/bus/mdev/drivers/vfio_ap_mdev'),
      // iommu_group_add_device at vfio_register_emulated_iommu_dev; gone at vfio_unregister_group_dev.
      iommu_group: () => (m.iommuGroup !== undefined ? relLink(`${p}/iommu_group`, `${IOMMU_GROUPS}/${m.iommuGroup}`) : undefined),
      subsystem: () => relLink(`${p}/subsystem`, '/bus/mdev'),
    });
  };

  // /sys/kernel/iommu_groups: one group per mdev registered with VFIO, its device linked in devices/.
  const grouped = () => md.mdevList.filter((m) => m.iommuGroup !== undefined);
  const iommuGroupsDir: DirNode = {
    kind: 'dir',
    list: () => grouped().map((m) => m.iommuGroup!).sort((a, b) => a - b).map(String),
    child: (n) => {
      const m = /^(0|[1-9]\d*)$/.test(n) ? grouped().find((x) => x.iommuGroup === Number(n)) : undefined;
      if (!m) return undefined;
      const dir = `${IOMMU_GROUPS}/${n}`;
      return attrDir(m, [iommuGroupAttrs], {
        devices: () => staticDir({ [m.uuid]: () => relLink(`${dir}/devices/${m.uuid}`, `${MATRIX}/${m.uuid}`) }),
      });
    },
  };
  const mdevLinks = (dir: string, target: (m: MatrixMdev) => string): DirNode => ({
    kind: 'dir',
    list: () => activeMdevs().map((m) => m.uuid),
    child: (n) => {
      const m = activeMdevs().find((x) => x.uuid === n);
      return m ? relLink(`${dir}/${n}`, target(m)) : undefined;
    },
  });

  const typeDir = attrDir(host.mdevCore, [mdevTypeAttrs], {
    devices: () => mdevLinks(`${MATRIX}/mdev_supported_types/${MDEV_TYPE.dirName}/devices`, (m) => `${MATRIX}/${m.uuid}`),
  });
  const matrixDir = attrDir(md, [matrixAttrs, ueventGroup(() => ['DRIVER=vfio_ap'])], {
    driver: () => relLink(`${MATRIX}/driver`, '/bus/matrix/drivers/vfio_ap'),
    subsystem: () => relLink(`${MATRIX}/subsystem`, '/bus/matrix'),
    mdev_supported_types: () => staticDir({ [MDEV_TYPE.dirName]: () => typeDir }),
  }, {
    list: () => md.mdevList.filter((m) => m.state !== 'removed').map((m) => m.uuid).reverse(),
    child: (n) => {
      const m = mdevByName(n);
      return m ? mdevDir(m) : undefined;
    },
  });

  /**
   * The driver-core files of a bus whose devices are always bound (matrix, mdev): drivers_probe
   * finds the device (sysfs_streq) and, it being bound already, returns the count; an unknown
   * name is ENODEV. drivers_autoprobe keeps what was written.
   * @kernel drivers/base/bus.c drivers_probe_store, drivers_autoprobe_store
   */
  const plainBusCore = <K>(exists: (name: string) => boolean) => {
    let autoprobe = true;
    return busCoreAttrs<K>({
      autoprobe: () => autoprobe,
      setAutoprobe: (_k, v) => void (autoprobe = v),
      probe: (_k, buf) => {
        if (!exists(buf.endsWith('\n') ? buf.slice(0, -1) : buf)) throw new KernelError(Errno.ENODEV, `drivers_probe: no device ${JSON.stringify(buf.trim())}`);
      },
    });
  };

  const matrixDriverKobj: DriverKobj = { name: 'vfio_ap' };
  const matrixBusDir = attrDir({}, [plainBusCore((n) => n === 'matrix')], {
    devices: () => staticDir({ matrix: () => link('../../../devices/vfio_ap/matrix') }),
    // suppress_bind_attrs: no bind/unbind for the matrix driver.
    drivers: () => staticDir({ vfio_ap: () => attrDir<DriverKobj>(matrixDriverKobj, [driverBindAttrs, driverCoreAttrs], { matrix: () => link('../../../../devices/vfio_ap/matrix') }) }),
  });

  const mdevDriverKobj: DriverKobj = {
    name: 'vfio_ap_mdev',
    bind: async (buf) => {
      const m = mdevByName(buf.replace(/\n$/, ''));
      if (!m) throw new KernelError(Errno.ENODEV, `bind: no mdev ${JSON.stringify(buf.trim())}`);
      throw new KernelError(Errno.EBUSY, `bind: ${m.uuid} is already bound to vfio_ap_mdev`);
    },
    unbind: async (buf) => {
      const m = mdevByName(buf.replace(/\n$/, ''));
      if (!m) throw new KernelError(Errno.ENODEV, `unbind: no mdev ${JSON.stringify(buf.trim())}`);
      // Unbinding an mdev from its driver is not modelled; refuse rather than pretend.
      throw new KernelError(Errno.EOPNOTSUPP, `unbind: unbinding ${m.uuid} from vfio_ap_mdev is not simulated`);
    },
  };
  const mdevBusDir = attrDir({}, [plainBusCore((n) => activeMdevs().some((m) => m.uuid === n))], {
    devices: () => mdevLinks('/bus/mdev/devices', (m) => `${MATRIX}/${m.uuid}`),
    drivers: () => staticDir({ vfio_ap_mdev: () => attrDir(mdevDriverKobj, [driverBindAttrs, driverCoreAttrs], {}, { list: () => activeMdevs().map((m) => m.uuid), child: (n) => (activeMdevs().some((m) => m.uuid === n) ? relLink(`/bus/mdev/drivers/vfio_ap_mdev/${n}`, `${MATRIX}/${n}`) : undefined) }) }),
  });

  const zcdnGroup = zcdnAttrs(host.zcrypt);
  const rootUevent = ueventGroup<object>(() => []);
  const apRootDir = attrDir({}, [rootUevent], {}, {
    list: () => [...bus.cards.keys()].sort((a, b) => a - b).map((id) => bus.cards.get(id)!.name),
    child: (n) => {
      const id = parseCardName(n);
      const c = id === undefined ? undefined : bus.cards.get(id);
      return c ? cardDir(c) : undefined;
    },
  });
  const vfioApRootDir = attrDir({}, [rootUevent], { matrix: () => matrixDir });

  return staticDir({
    bus: () => staticDir({ ap: () => apBusDir, matrix: () => matrixBusDir, mdev: () => mdevBusDir }),
    devices: () => staticDir({ ap: () => apRootDir, vfio_ap: () => vfioApRootDir }),
    kernel: () => staticDir({ iommu_groups: () => iommuGroupsDir }),
    class: () =>
      staticDir({
        mdev_bus: () => staticDir({ matrix: () => link('../../devices/vfio_ap/matrix') }),
        // The kernel's nodes are links to devices/virtual/zcrypt/<name>; served as directories here
        // so that `apsysfs run` need not cover the real /sys/devices/virtual (same files inside).
        zcrypt: () =>
          attrDir(host.zcrypt, [zcryptClassAttrs], {}, {
            list: () => [...host.zcrypt.nodes.keys()],
            child: (n) => {
              const d = host.zcrypt.nodes.get(n);
              return d ? attrDir(d, [zcdnGroup, ueventGroup(() => [`MAJOR=${ZCRYPT_MAJOR}`, `MINOR=${d.minor}`, `DEVNAME=${d.name}`])]) : undefined;
            },
          }),
      }),
  });
}

/** The Kernfs the FUSE adapter serves for this host. */
export function createSysfs(host: Host): Kernfs {
  return new SysfsKernfs(createTree(host), host.k.removals);
}

export type { Node };
