/**
 * Shared show() formatters, the analogue of sysfs_emit. They return the full text; the sysfs
 * layer applies the kernel's PAGE_SIZE rule (sysfs_emit_at stops at PAGE_SIZE - 1 bytes).
 */
import { ApMask, hex2bitmap } from '../model/ap/ap-mask.js';
import { Errno, KernelError } from '../model/errno.js';

export const PAGE_SIZE = 4096;

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/**
 * '0x' + 64 lower-case hex digits + "\n".
 * @kernel ap_bus.c apmask_show, aqmask_show, ap_adapter_mask_show, ap_usage_domain_mask_show, ap_control_domain_mask_show
 */
export function formatMask(m: ApMask): string {
  return `${m.toString()}\n`;
}

/**
 * `matrix` and `guest_matrix`. Only bits 0..apmMax / 0..aqmMax count. Both non-empty: one
 * "%02x.%04x\n" per APQN, adapters outer; only adapters: "%02x.\n" each; only domains:
 * ".%04x\n" each; neither: "".
 * @kernel vfio_ap_ops.c vfio_ap_mdev_matrix_show
 */
export function formatMatrix(apm: ApMask, aqm: ApMask, apmMax: number, aqmMax: number): string {
  const apids = apm.ids(apmMax);
  const apqis = aqm.ids(aqmMax);
  if (apids.length > 0 && apqis.length > 0) {
    const tails = apqis.map((q) => `.${hex4(q)}\n`);
    const lines: string[] = [];
    for (const a of apids) {
      const head = hex2(a);
      for (const tail of tails) lines.push(head + tail);
    }
    return lines.join('');
  }
  if (apids.length > 0) return apids.map((a) => `${hex2(a)}.\n`).join('');
  return apqis.map((q) => `.${hex4(q)}\n`).join('');
}

/**
 * One "%04x\n" per assigned control domain 0..admMax.
 * @kernel vfio_ap_ops.c control_domains_show
 */
export function formatControlDomains(adm: ApMask, admMax: number): string {
  return adm
    .ids(admMax)
    .map((d) => `${hex4(d)}\n`)
    .join('');
}

/**
 * "<apm>,<aqm>,<adm>\n", each '0x' + 64 hex digits.
 * @kernel vfio_ap_ops.c ap_config_show / write_ap_bitmap
 */
export function formatApConfig(apm: ApMask, aqm: ApMask, adm: ApMask): string {
  return `${apm.toString()},${aqm.toString()},${adm.toString()}\n`;
}

/** AP_DEVICES_STRLEN + 2 * AP_DOMAINS_STRLEN = 3 * (256 / 4 + 3): a full ap_config_show line with its "\n". */
export const AP_CONFIG_STRLEN = 3 * (ApMask.BITS / 4 + 3);

/** @kernel lib/string.c strsep: next token up to ',' or "\n" (delimiter consumed), or null once used up. */
function strsep(s: string, state: { pos: number | null }): string | null {
  const start = state.pos;
  if (start === null) return null;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2c /* , */ || c === 0x0a /* \n */) {
      state.pos = i + 1;
      return s.slice(start, i);
    }
  }
  state.pos = null;
  return s.slice(start);
}

/**
 * An ap_config write. The buffer is cut to AP_CONFIG_STRLEN (201) bytes (kstrndup), then three
 * fields are taken with strsep on ",\n", each parsed by hex2bitmap into a fresh zero mask; whatever
 * follows the third field is ignored. Because "\n" is a delimiter too, a field may be empty
 * (all zeros): "0x04,0x08\n" has an empty third field and is valid, "0x04,0x08" is not.
 * @kernel vfio_ap_ops.c ap_config_store, parse_bitmap
 * Throws: EINVAL if fewer than three fields remain or a field is not a valid absolute mask.
 */
export function parseApConfig(buf: string): { apm: ApMask; aqm: ApMask; adm: ApMask } {
  const nul = buf.indexOf('\0');
  const s = (nul >= 0 ? buf.slice(0, nul) : buf).slice(0, AP_CONFIG_STRLEN);
  const state = { pos: 0 as number | null };
  const field = (name: string): ApMask => {
    const tok = strsep(s, state);
    if (tok === null) throw new KernelError(Errno.EINVAL, `ap_config: ${name} field missing`);
    return hex2bitmap(tok);
  };
  const apm = field('apm');
  const aqm = field('aqm');
  const adm = field('adm');
  return { apm, aqm, adm };
}
