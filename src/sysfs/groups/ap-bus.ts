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
      // drivers_autoprobe_store: buf[0] == '0' → 0, anything else (an empty C string too) → 1.
      rw('drivers_autoprobe', (k: K) => `${opts.autoprobe(k) ? 1 : 0}\n`, (k: K, buf: string) => opts.setAutoprobe(k, buf.charAt(0) !== '0')),
      wo('drivers_probe', (k: K, buf: string) => opts.probe(k, buf)),
      wo('uevent', (_k: K, buf: string) => checkUeventAction(buf)),
    ],
  };
}

const UEVENT_ACTIONS = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'];
/** UUID_STRING_LEN; kobj_uevent_env holds UEVENT_NUM_ENVP entries in UEVENT_BUFFER_SIZE bytes. */
const UUID_LEN = 36;
const UEVENT_NUM_ENVP = 64;
const UEVENT_BUFFER_SIZE = 2048;

/** @kernel lib/ctype.c isalnum: ASCII letters and digits, and the latin1 letters (not × and ÷). */
function isalnum(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a)) return true;
  return c >= 0xc0 && c !== 0xd7 && c !== 0xf7;
}

const isUuid = (s: string): boolean =>
  s.length >= UUID_LEN && [...s.slice(0, UUID_LEN)].every((c, i) => (i === 8 || i === 13 || i === 18 || i === 23 ? c === '-' : /[0-9a-fA-F]/.test(c)));

/**
 * A synthetic uevent write: "ACTION" or "ACTION UUID[ KEY=VALUE]..." with an optional trailing
 * "\n"; keys and values are runs of alphanumerics, separated by single spaces. Sending it is not
 * simulated (apsysfs has no uevent socket).
 * @kernel lib/kobject_uevent.c kobject_synth_uevent → kobject_action_type, kobject_action_args
 * Throws: EINVAL for an unknown action or arguments that are not of that form (or do not fit the
 * uevent environment).
 */
export function checkUeventAction(buf: string): void {
  const fail = (why: string): never => {
    throw new KernelError(Errno.EINVAL, `uevent: ${why} in ${JSON.stringify(buf.slice(0, 80))}`);
  };
  const s = buf.endsWith('\n') ? buf.slice(0, -1) : buf;
  const sp = s.indexOf(' ');
  const action = sp < 0 ? s : s.slice(0, sp);
  if (!UEVENT_ACTIONS.includes(action)) fail(`unknown action ${JSON.stringify(action)}`);
  if (sp < 0) return;
  // kobject_action_args strips one trailing "\n" of its own from the original text.
  let args = buf.slice(sp + 1);
  if (args.endsWith('\n')) args = args.slice(0, -1);
  if (args.length < UUID_LEN || !isUuid(args)) fail('arguments do not start with a UUID');
  let envp = 1;
  let buflen = 'SYNTH_UUID='.length + UUID_LEN + 1;
  const end = args.length - 1;
  let next = UUID_LEN;
  const word = (from: number, delim: string): number => {
    let p = from;
    while (p <= end && args[p] !== delim) if (!isalnum(args.charCodeAt(p++))) fail('a key or value that is not alphanumeric');
    if (p === from) fail('an empty key or value');
    return p;
  };
  while (next <= end) {
    if (args[next] !== ' ') fail('arguments not separated by one space');
    const key = ++next;
    if (key > end) fail('a key missing');
    const eq = word(key, '=');
    if (eq > end || args[eq] !== '=') fail('"=" missing');
    if (eq + 1 > end) fail('a value missing');
    next = word(eq + 1, ' ');
    envp++;
    buflen += 'SYNTH_ARG_'.length + (eq - key) + 1 + (next - eq - 1) + 1;
    if (envp > UEVENT_NUM_ENVP || buflen > UEVENT_BUFFER_SIZE) fail('too many arguments for the uevent environment');
  }
}
