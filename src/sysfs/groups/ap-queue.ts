/**
 * Queue device attributes: the AP bus's always-present ones, zcrypt's while bound to cex4queue,
 * vfio_ap's `status` while bound to vfio_ap. The attribute set follows the driver.
 * @kernel ap_queue.c ap_queue_dev_attrs[]; zcrypt_queue.c zcrypt_queue_attrs[];
 *         vfio_ap_ops.c vfio_queue_attrs[] (status_show)
 */
import type { ApQueue } from '../../model/ap/ap-queue.js';
import type { ApBus } from '../../model/ap/ap-bus.js';
import type { MatrixDev } from '../../model/vfio_ap/matrix-dev.js';
import { queueOnline, queueOnlineStore } from '../../model/zcrypt/cex4.js';
import { queueStatus } from '../../model/vfio_ap/queue-status.js';
import { ro, rw, type AttrGroup } from '../attr.js';
import { sscanfInt } from '../parse.js';

const hex08 = (n: number): string => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
const uninitiated = (q: ApQueue): boolean => q.devState === 'uninitiated';

export function apQueueGroups(bus: ApBus, md: MatrixDev): AttrGroup<ApQueue>[] {
  const core: AttrGroup<ApQueue> = {
    attrs: [
      rw('request_count', (q) => (uninitiated(q) ? '-\n' : `${q.requestCount}\n`), (q) => {
        q.requestCount = 0n;
      }),
      ro('requestq_count', () => '0\n'),
      ro('pendingq_count', () => '0\n'),
      rw('reset', (q) => {
        if (q.smState === 'reset_start' || q.smState === 'reset_wait') return 'Reset in progress.\n';
        if (q.smState === 'working' || q.smState === 'queue_full') return 'Reset Timer armed.\n';
        return 'No Reset Timer set.\n';
      }, (q) => bus.queueResetStore(q)),
      ro('interrupt', (q) => {
        if (q.smState === 'setirq_wait') return 'Enable Interrupt pending.\n';
        return q.interrupt ? 'Interrupts enabled.\n' : 'Interrupts disabled.\n';
      }),
      ro('config', (q) => `${q.config ? 1 : 0}\n`),
      ro('chkstop', (q) => `${q.chkstop ? 1 : 0}\n`),
      ro('ap_functions', (q) => `${hex08(q.card.functions)}\n`),
    ],
  };
  const zcrypt: AttrGroup<ApQueue> = {
    isVisible: (q) => q.driver?.name === 'cex4queue',
    attrs: [
      rw('online', (q) => `${queueOnline(q) ? 1 : 0}\n`, (q, buf) => queueOnlineStore(bus, q, sscanfInt(buf, '%d'))),
      ro('load', () => '0\n'),
    ],
  };
  const vfio: AttrGroup<ApQueue> = {
    isVisible: (q) => q.vfio !== undefined,
    attrs: [ro('status', (q) => queueStatus(md, q))],
  };
  return [core, zcrypt, vfio];
}
