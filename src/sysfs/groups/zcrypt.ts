/**
 * /sys/class/zcrypt: the class files and the per-node masks.
 * @kernel zcrypt_api.c zcrypt_class_attrs (create, destroy: 0600, no show), zcdn_dev_attrs[]
 */
import type { ZcryptClass, ZcdnDevice, ZcdnMask } from '../../model/zcrypt/zcdn.js';
import { rw, type Attr, type AttrGroup } from '../attr.js';
import { formatMask } from '../emit.js';

/** __ATTR(name, 0600, NULL, store): root-only and write-only (a read open gets EACCES). */
const woRoot = <K>(name: string, store: NonNullable<Attr<K>['store']>): Attr<K> => ({ name, mode: 0o600, store });

export const zcryptClassAttrs: AttrGroup<ZcryptClass> = {
  attrs: [
    woRoot('create', async (z, buf) => {
      await z.create(buf);
    }),
    woRoot('destroy', (z, buf) => z.destroy(buf)),
  ],
};

const mask = (z: ZcryptClass, file: string, which: ZcdnMask): Attr<ZcdnDevice> =>
  rw(file, (d: ZcdnDevice) => formatMask(d.perms[which]), (d: ZcdnDevice, buf: string) => z.maskStore(d, which, buf));

export function zcdnAttrs(z: ZcryptClass): AttrGroup<ZcdnDevice> {
  return { attrs: [mask(z, 'ioctlmask', 'ioctlm'), mask(z, 'apmask', 'apm'), mask(z, 'aqmask', 'aqm'), mask(z, 'admask', 'adm')] };
}
