/**
 * What the AP bus knows of a driver: its name, whether it is a DEFAULT (zcrypt) driver, which
 * devices it matches, and its callbacks.
 * @kernel ap_bus.h struct ap_driver, AP_DRIVER_FLAG_DEFAULT
 */
import type { ApMask } from './ap-mask.js';
import type { ApConfig } from './ap-config.js';
import type { ApCard } from './ap-card.js';
import type { ApQueue } from './ap-queue.js';

export type ApDevice = ApCard | ApQueue;

export interface ApDriver {
  /** The name under /sys/bus/ap/drivers/. */
  readonly name: string;
  /** AP_DRIVER_FLAG_DEFAULT: may only take queues reserved by apmask/aqmask. */
  readonly isDefault: boolean;
  /** Cards or queues (ap_bus_match: card-vs-queue must match). */
  readonly devType: 'card' | 'queue';
  /** Device types (hwtype) in the driver's id table. */
  readonly hwtypes: ReadonlySet<number>;
  /** Bound devices, kept by the bus. */
  readonly devices: Set<ApDevice>;
  probe(dev: ApDevice): Promise<void>;
  remove(dev: ApDevice): Promise<void>;
  /** @kernel ap_driver.in_use: true when any APQN of apm x aqm is in use by the driver; throws KernelError (EBUSY) when it cannot tell. */
  inUse?(apm: ApMask, aqm: ApMask): Promise<boolean>;
  /** @kernel ap_driver.on_config_changed: start of a scan whose QCI differs from the previous one. */
  onConfigChanged?(cur: ApConfig, old: ApConfig): Promise<void>;
  /** @kernel ap_driver.on_scan_complete: end of such a scan. */
  onScanComplete?(cur: ApConfig, old: ApConfig): Promise<void>;
}
