/**
 * AP identifiers: adapter id (APID), domain / queue index (APQI) and the queue number (APQN).
 * @kernel ap_bus.h AP_MKQID, AP_QID_CARD, AP_QID_QUEUE
 */
export type Apid = number & { readonly __brand: 'Apid' };
export type Apqi = number & { readonly __brand: 'Apqi' };
/** APQN = (apid << 8) | apqi, as AP_MKQID builds it. */
export type Apqn = number & { readonly __brand: 'Apqn' };

/** AP_DEVICES / AP_DOMAINS: the architecture's 256 x 256 limit. */
export const AP_DEVICES = 256;
export const AP_DOMAINS = 256;

export const apid = (n: number): Apid => n as Apid;
export const apqi = (n: number): Apqi => n as Apqi;
export const mkqid = (a: Apid | number, q: Apqi | number): Apqn => (((a & 0xff) << 8) | (q & 0xff)) as Apqn;
export const qidCard = (qid: Apqn): Apid => ((qid >> 8) & 0xff) as Apid;
export const qidQueue = (qid: Apqn): Apqi => (qid & 0xff) as Apqi;

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** Card device name, `card%02x` (ap_bus.c ap_scan_adapter). */
export const cardName = (a: Apid | number): string => `card${hex(a, 2)}`;
/** Queue device name and APQN text, `%02x.%04x` (ap_bus.c ap_scan_domains). */
export const queueName = (qid: Apqn): string => `${hex(qidCard(qid), 2)}.${hex(qidQueue(qid), 4)}`;

/** Parse a device name back; undefined for anything that is not exactly the kernel's form. */
export function parseCardName(name: string): Apid | undefined {
  const m = /^card([0-9a-f]{2})$/.exec(name);
  return m ? apid(parseInt(m[1]!, 16)) : undefined;
}
export function parseQueueName(name: string): Apqn | undefined {
  const m = /^([0-9a-f]{2})\.([0-9a-f]{4})$/.exec(name);
  if (!m) return undefined;
  const q = parseInt(m[2]!, 16);
  return q < AP_DOMAINS ? mkqid(parseInt(m[1]!, 16), q) : undefined;
}
