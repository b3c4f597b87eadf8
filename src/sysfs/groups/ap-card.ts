/**
 * Card device attributes: the AP bus's always-present ones, zcrypt's while bound to cex4card, and
 * the CCA/EP11 extras.
 * @kernel ap_card.c ap_card_dev_attrs[]; zcrypt_card.c zcrypt_card_attrs[]; zcrypt_cex4.c cca_card_attrs, ep11_card_attrs
 */
import type { ApCard } from '../../model/ap/ap-card.js';
import type { ApBus } from '../../model/ap/ap-bus.js';
import { Errno, KernelError } from '../../model/errno.js';
import { cardOnline, cardOnlineStore } from '../../model/zcrypt/cex4.js';
import { ro, rw, type AttrGroup } from '../attr.js';
import { sscanfInt } from '../parse.js';

const hex08 = (n: number): string => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

export function apCardGroups(bus: ApBus): AttrGroup<ApCard>[] {
  const core: AttrGroup<ApCard> = {
    attrs: [
      ro('hwtype', (c) => `${c.hwtype}\n`),
      ro('raw_hwtype', (c) => `${c.rawHwtype}\n`),
      ro('depth', (c) => `${c.depth}\n`),
      ro('ap_functions', (c) => `${hex08(c.functions)}\n`),
      rw('request_count', (c) => `${c.requestCount}\n`, (c) => {
        c.requestCount = 0n;
        for (const q of c.queues.values()) q.requestCount = 0n;
      }),
      ro('requestq_count', () => '0\n'),
      ro('pendingq_count', () => '0\n'),
      ro('modalias', (c) => `ap:t${c.hwtype.toString(16).toUpperCase().padStart(2, '0')}\n`),
      rw('config', (c) => `${c.config ? 1 : 0}\n`, (c, buf) => {
        const v = sscanfInt(buf, '%d');
        if (v === undefined || v < 0 || v > 1) throw new KernelError(Errno.EINVAL, 'config: not 0 or 1');
        bus.cardConfigStore(c, v === 1);
      }),
      ro('chkstop', (c) => `${c.chkstop ? 1 : 0}\n`),
      ro('max_msg_size', (c) => `${c.maxMsgSize}\n`),
    ],
  };
  const zcrypt: AttrGroup<ApCard> = {
    isVisible: (c) => c.driver?.name === 'cex4card',
    attrs: [
      ro('type', (c) => `${c.typeName}\n`),
      rw('online', (c) => `${cardOnline(c) ? 1 : 0}\n`, (c, buf) => cardOnlineStore(bus, c, sscanfInt(buf, '%d'))),
      ro('load', () => '0\n'),
    ],
  };
  const cca: AttrGroup<ApCard> = {
    isVisible: (c) => c.driver?.name === 'cex4card' && c.mode === 'cca',
    attrs: [ro('serialnr', (c) => `${c.serialnr}\n`)],
  };
  const ep11: AttrGroup<ApCard> = {
    isVisible: (c) => c.driver?.name === 'cex4card' && c.mode === 'ep11',
    attrs: [
      ro('API_ordinalnr', () => '4\n'),
      ro('FW_version', () => '7.2\n'),
      ro('serialnr', (c) => `${c.serialnr}\n`),
      ro('op_modes', () => '\n'),
    ],
  };
  return [core, zcrypt, cca, ep11];
}
