/**
 * The zcrypt default drivers for CEX4..CEX8: `cex4card` and `cex4queue`. Only what shows in sysfs
 * is modelled: binding (DEFAULT flag), the zcrypt `online` state and the queue initiation that
 * their probe does.
 * @kernel zcrypt_cex4.c zcrypt_cex4_card_driver, zcrypt_cex4_queue_driver; zcrypt_card.c; zcrypt_queue.c
 */
import { Errno, KernelError } from '../errno.js';
import type { ApDevice, ApDriver } from '../ap/ap-driver.js';
import type { ApBus } from '../ap/ap-bus.js';
import type { ApCard } from '../ap/ap-card.js';
import type { ApQueue } from '../ap/ap-queue.js';
import { initQueueState } from '../ap/ap-scan.js';

/** CEX4..CEX8 compatible types (ap_bus.h AP_DEVICE_TYPE_CEX4 .. _CEX8). */
export const CEX4_TO_CEX8: ReadonlySet<number> = new Set([10, 11, 12, 13, 14]);

export function cex4CardDriver(): ApDriver {
  return {
    name: 'cex4card',
    isDefault: true,
    devType: 'card',
    hwtypes: CEX4_TO_CEX8,
    devices: new Set<ApDevice>(),
    async probe(dev) {
      (dev as ApCard).zcryptOnline = true;
    },
    async remove() {},
  };
}

export function cex4QueueDriver(bus: ApBus): ApDriver {
  return {
    name: 'cex4queue',
    isDefault: true,
    devType: 'queue',
    hwtypes: CEX4_TO_CEX8,
    devices: new Set<ApDevice>(),
    /** zcrypt_cex4_queue_probe → ap_queue_init_state: the queue becomes OPERATING, online. */
    async probe(dev) {
      const q = dev as ApQueue;
      q.zcryptOnline = true;
      initQueueState(bus, q);
    },
    async remove() {},
  };
}

/**
 * Card `online` write. Throws EINVAL (not 0/1), ENODEV (1 while not configured or checkstopped).
 * Propagates to the card's zcrypt queues. @kernel zcrypt_card.c online_store
 */
export function cardOnlineStore(bus: ApBus, card: ApCard, value: number | undefined): void {
  if (value === undefined || (value !== 0 && value !== 1)) throw new KernelError(Errno.EINVAL, 'online: not 0 or 1');
  if (value === 1 && (!card.config || card.chkstop)) throw new KernelError(Errno.ENODEV, `online: ${card.name} is not configured or checkstopped`);
  card.zcryptOnline = value === 1;
  bus.k.events.uevent('change', bus.devpath(card), { ONLINE: String(value) });
  for (const q of card.queues.values()) {
    if (q.driver?.name !== 'cex4queue') continue;
    q.zcryptOnline = value === 1;
    bus.k.events.uevent('change', bus.devpath(q), { ONLINE: String(value) });
  }
}

/**
 * Queue `online` write. Throws EINVAL (not 0/1, or 1 while the card is offline), ENODEV (1 while the
 * queue or card is not configured or checkstopped). @kernel zcrypt_queue.c online_store
 */
export function queueOnlineStore(bus: ApBus, q: ApQueue, value: number | undefined): void {
  if (value === undefined || (value !== 0 && value !== 1)) throw new KernelError(Errno.EINVAL, 'online: not 0 or 1');
  if (value === 1 && (!q.config || q.chkstop || !q.card.config || q.card.chkstop)) throw new KernelError(Errno.ENODEV, `online: ${q.name} is not configured or checkstopped`);
  if (value === 1 && !q.card.zcryptOnline) throw new KernelError(Errno.EINVAL, `online: card ${q.card.name} is offline`);
  q.zcryptOnline = value === 1;
  bus.k.events.uevent('change', bus.devpath(q), { ONLINE: String(value) });
}

/** What `online` reads. @kernel zcrypt_card.c / zcrypt_queue.c online_show */
export const cardOnline = (c: ApCard): boolean => c.config && !c.chkstop && c.zcryptOnline;
export const queueOnline = (q: ApQueue): boolean => q.config && !q.chkstop && q.zcryptOnline;
