/**
 * Files of a driver directory (`bus/<bus>/drivers/<drv>/`): bind, unbind, uevent.
 * @kernel drivers/base/bus.c driver_attr_bind, driver_attr_unbind, driver_attr_uevent
 */
import { wo, type AttrGroup } from '../attr.js';
import { checkUeventAction } from './ap-bus.js';

export interface DriverKobj {
  readonly name: string;
  /** bind/unbind exist unless the driver suppresses them (suppress_bind_attrs). */
  readonly bind?: (buf: string) => Promise<void>;
  readonly unbind?: (buf: string) => Promise<void>;
}

export const driverBindAttrs: AttrGroup<DriverKobj> = {
  isVisible: (d) => d.bind !== undefined,
  attrs: [wo('bind', (d, buf) => d.bind!(buf)), wo('unbind', (d, buf) => d.unbind!(buf))],
};

export const driverCoreAttrs: AttrGroup<DriverKobj> = {
  attrs: [wo('uevent', (_d, buf) => checkUeventAction(buf))],
};
