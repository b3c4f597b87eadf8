/**
 * /sys/bus/ap attributes, in the kernel's group order, plus the driver core's bus files.
 * @kernel ap_bus.c ap_bus_attrs[]; drivers/base/bus.c drivers_autoprobe, drivers_probe, bus uevent
 */
import type { ApBus } from '../../model/ap/ap-bus.js';
import { Errno, KernelError } from '../../model/errno.js';
import { ro, rw, wo, type AttrGroup } from '../attr.js';
import { formatMask } from '../emit.js';
import { kstrtobool, kstrtoul, sscanfInt } from '../parse.js';

const qciMask = (bus: ApBus, m: 'apm' | 'aqm' | 'adm'): string => (bus.hw.qciAvailable ? formatMask(bus.qci[m]) : 'not supported\n');

export const apBusAttrs: AttrGroup<ApBus> = {
  attrs: [
    rw('ap_domain', (b) => `${b.apDomainIndex}\n`, (b, buf) => b.apDomainStore(() => sscanfInt(buf, '%i'))),
    ro('ap_control_domain_mask', (b) => qciMask(b, 'adm')),
    ro('ap_usage_domain_mask', (b) => qciMask(b, 'aqm')),
    ro('ap_adapter_mask', (b) => qciMask(b, 'apm')),
    rw('config_time', (b) => `${b.configTime}\n`, (b, buf) => b.configTimeStore(sscanfInt(buf, '%d'))),
    rw('poll_thread', (b) => `${b.pollThread ? 1 : 0}\n`, (b, buf) => b.pollThreadStore(kstrtobool(buf))),
    ro('ap_interrupts', (b) => `${b.interrupts ? 1 : 0}\n`),
    rw('poll_timeout', (b) => `${b.pollTimeout}\n`, (b, buf) => b.pollTimeoutStore(kstrtoul(buf, 0))),
    ro('ap_max_domain_id', (b) => `${b.maxDomainId}\n`),
    ro('ap_max_adapter_id', (b) => `${b.maxAdapterId}\n`),
    rw('apmask', (b) => formatMask(b.apPerms.apm), (b, buf) => b.apmaskStore(buf)),
    rw('aqmask', (b) => formatMask(b.apPerms.aqm), (b, buf) => b.aqmaskStore(buf)),
    rw('scans', (b) => `${b.scanCount}\n`, (b) => b.rescan()),
    ro('bindings', (b) => {
      const { bound, total } = b.bindingCounts();
      return `${bound}/${total}${b.scanCount > 0n && bound === total ? ' (complete)' : ''}\n`;
    }),
    ro('features', (b) => {
      if (!b.hw.qciAvailable) return '-\n';
      // Quirk (§2): with QCI but none of the five bits, the read returns 0 bytes.
      return b.features.length === 0 ? '' : `${b.features.join(' ')}\n`;
    }),
  ],
};

/** The driver core's files of every bus directory. */
export function busCoreAttrs<K>(opts: { autoprobe: (k: K) => boolean; setAutoprobe: (k: K, v: boolean) => void; probe: (k: K, buf: string) => Promise<void> | void }): AttrGroup<K> {
  return {
    attrs: [
      rw('drivers_autoprobe', (k: K) => `${opts.autoprobe(k) ? 1 : 0}\n`, (k: K, buf: string) => opts.setAutoprobe(k, buf.length > 0 && buf[0] !== '0')),
      wo('drivers_probe', (k: K, buf: string) => opts.probe(k, buf)),
      wo('uevent', (_k: K, buf: string) => checkUeventAction(buf)),
    ],
  };
}

const UEVENT_ACTIONS = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'];

/** @kernel lib/kobject_uevent.c kobject_synth_uevent: the action word must be known. */
export function checkUeventAction(buf: string): void {
  const action = buf.replace(/\n$/, '').split(' ')[0] ?? '';
  if (!UEVENT_ACTIONS.includes(action)) throw new KernelError(Errno.EINVAL, `uevent: unknown action ${JSON.stringify(action)}`);
}
