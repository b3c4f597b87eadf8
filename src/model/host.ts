/**
 * The simulated machine: hardware, the AP bus with zcrypt's and vfio_ap's drivers, the matrix
 * device with its mdevs, and the KVM guests. Built from a topology the way the kernel comes up:
 * the bus fetches QCI, the drivers register, the first scan creates and binds every device, then
 * the mdevs of the topology are created and assigned through the same verbs a user would write.
 */
import { inTask, type KernelCtx, type LockProfile } from './kernel.js';
import { EventLog } from './events.js';
import { SysfsRemovals } from './sysfs-removals.js';
import { Lockdep, type LockdepReport } from './lock/lockdep.js';
import { ApBus } from './ap/ap-bus.js';
import { Hardware } from './ap/hardware.js';
import { scanBus } from './ap/ap-scan.js';
import { ApMask } from './ap/ap-mask.js';
import { cex4CardDriver, cex4QueueDriver } from './zcrypt/cex4.js';
import { MatrixDev } from './vfio_ap/matrix-dev.js';
import type { MatrixMdev } from './vfio_ap/matrix-mdev.js';
import { vfioApDriver } from './vfio_ap/vfio-ap-drv.js';
import { apConfigStore } from './vfio_ap/assign.js';
import { qemuAttach, qemuDetach } from './vfio/qemu.js';
import { selectScenario } from './scenarios/flaw.js';
import { MdevCore } from './mdev/mdev-core.js';
import { IommuGroupIda } from './vfio/iommu-group-ida.js';
import { restoreState } from './state-restore.js';
import { ZcryptClass } from './zcrypt/zcdn.js';
import { Kvm } from './kvm/guest.js';
import { Errno, KernelError } from './errno.js';
import type { Topology } from './topology.js';
import { log } from '../log.js';

export interface HostOptions {
  /** Locking profile (spec decision 2 / 3). Default 'trylock'. */
  readonly kernel?: LockProfile;
  /** Milliseconds; injected so the model has no real clock. Default: a counter that never goes back. */
  readonly clock?: () => number;
  /**
   * A historic flawed lock ordering (docs/deadlocks.md) switched on for every operation; see
   * `apsysfs ctl scenario list`. Throws EINVAL for an unknown name or a profile it cannot sit on.
   */
  readonly scenario?: string;
  /** Awaited where a flawed path would sleep, so that concurrent clients meet there. Default: no wait. */
  readonly scenarioWindow?: () => Promise<void>;
}

export class Host {
  readonly k: KernelCtx;
  readonly hw: Hardware;
  readonly bus: ApBus;
  readonly matrixDev: MatrixDev;
  readonly mdevCore: MdevCore;
  /** /sys/class/zcrypt's additional device nodes. */
  readonly zcrypt: ZcryptClass;
  /** Simulated guests by name. */
  readonly kvms = new Map<string, Kvm>();

  private constructor(readonly topology: Topology, opts: HostOptions) {
    let t = 0;
    const clock = opts.clock ?? (() => t++);
    const events = new EventLog(clock);
    const scenario = opts.scenario === undefined ? undefined : selectScenario(opts.scenario, opts.kernel, opts.scenarioWindow);
    const lockdep = new Lockdep({
      onReport: (r: LockdepReport) => {
        events.add('lockdep', 'err', r.text);
        log.lock('%s', r.text);
      },
      // A scenario's reports should show the kernel's own chain (docs/deadlocks.md).
      recordFrom: scenario ? 'previous-lock' : 'every-held-lock',
    });
    this.k = { lockdep, events, removals: new SysfsRemovals(), clock, profile: scenario?.profile ?? opts.kernel ?? 'trylock', scenario: scenario?.selection };
    this.hw = new Hardware(topology.adapters, topology.usageDomains, topology.controlDomains, topology.qci);
    this.bus = new ApBus(this.k, this.hw, {
      apxa: topology.apxa,
      maxAdapterId: topology.maxAdapterId,
      maxDomainId: topology.maxDomainId,
      features: topology.features,
      apDomain: topology.apDomain,
      configTime: topology.configTime,
      pollThread: topology.pollThread,
      pollTimeout: topology.pollTimeout,
      interrupts: topology.interrupts,
      apmask: topology.apmask,
      aqmask: topology.aqmask,
    });
    // ap_module_init fetches QCI before any driver or scan exists.
    this.bus.qci = this.hw.qci();
    this.bus.qciOld = this.bus.qci;
    this.bus.registerDriver(cex4CardDriver());
    this.bus.registerDriver(cex4QueueDriver(this.bus));
    this.matrixDev = new MatrixDev(this.k, this.bus, topology.apxa);
    this.bus.registerDriver(vfioApDriver(this.matrixDev));
    this.mdevCore = new MdevCore(this.matrixDev, new IommuGroupIda());
    this.zcrypt = new ZcryptClass(this.k, this.bus.apPermsMutex);
  }

  static async fromTopology(topology: Topology, opts: HostOptions = {}): Promise<Host> {
    const host = new Host(topology, opts);
    await host.k.lockdep.runTask('ap_scan_bus (initial)', () => scanBus(host.bus));
    for (const spec of topology.mdevs) {
      const mdev = await host.mdevCore.create(spec.uuid, spec.uuid.length);
      await apConfigStore(host.matrixDev, mdev, () => ({ apm: ApMask.fromIds(spec.adapters), aqm: ApMask.fromIds(spec.domains), adm: ApMask.fromIds(spec.controlDomains) }));
    }
    // A saved state (ctl save, --state) carries bindings, guests and more: model/state-restore.ts.
    await restoreState(host);
    return host;
  }

  get events(): EventLog {
    return this.k.events;
  }

  get lockdep(): Lockdep {
    return this.k.lockdep;
  }

  /** Run fn as one kernel task (for front ends that group several verbs). */
  task<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return inTask(this.k, name, fn);
  }

  mdev(uuid: string): MatrixMdev | undefined {
    return this.matrixDev.findMdev(uuid.toLowerCase());
  }

  /** The guest named `name`, created on first use (QEMU starting a VM). */
  guest(name: string): Kvm {
    let kvm = this.kvms.get(name);
    if (!kvm) {
      kvm = new Kvm(this.k, name);
      this.kvms.set(name, kvm);
    }
    return kvm;
  }

  /**
   * Simulated QEMU start: open the mdev's VFIO group, add it to the guest's kvm-vfio device, open
   * the device (vfio/qemu.ts). Throws ENODEV, EPERM, EBUSY (EDEADLK under a flawed scenario).
   */
  async attachGuest(uuid: string, guestName: string, opts: { reqTrigger?: boolean; cfgChgTrigger?: boolean } = {}): Promise<void> {
    const mdev = this.mdev(uuid);
    if (!mdev) throw new KernelError(Errno.ENODEV, `no mdev ${uuid}`);
    await qemuAttach(this.matrixDev, mdev, this.guest(guestName));
    if (mdev.kvm) {
      mdev.reqTrigger = opts.reqTrigger ?? true;
      mdev.cfgChgTrigger = opts.cfgChgTrigger ?? true;
    }
  }

  /** Called by the daemon before it exits; nothing in the model runs on its own yet. */
  async shutdown(): Promise<void> {
    this.k.events.add('op', 'info', 'host shutdown');
    this.k.lockdep.close();
  }

  /**
   * Simulated QEMU stop: close the mdev's VFIO device, release the kvm-vfio device under kvm->lock
   * (vfio/qemu.ts). Throws ENODEV when it is not open (EDEADLK under a flawed scenario).
   */
  async detachGuest(uuid: string): Promise<void> {
    const mdev = this.mdev(uuid);
    if (!mdev) throw new KernelError(Errno.ENODEV, `no mdev ${uuid}`);
    await qemuDetach(this.matrixDev, mdev);
  }
}
