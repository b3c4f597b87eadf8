/**
 * zcrypt's additional device nodes (`/sys/class/zcrypt/create|destroy`, one node per name with its
 * ioctl/adapter/domain/control-domain masks). They only restrict what `/dev/<name>` may use and are
 * unrelated to binding; all of them share ap_perms_mutex with apmask/aqmask.
 * @kernel zcrypt_api.c zcdn_create_store, zcdn_destroy_store, zcdn_create, zcdn_destroy,
 *         ioctlmask/apmask/aqmask/admask_show/_store (ap_parse_mask_str)
 */
import { Errno, KernelError } from '../errno.js';
import { inTask, type KernelCtx } from '../kernel.js';
import type { KernelMutex } from '../lock/kernel-mutex.js';
import { ApMask, parseBitmapStr } from '../ap/ap-mask.js';

/** ZCRYPT_MAX_MINOR_NODES */
export const ZCRYPT_MAX_MINOR_NODES = 256;
/** ZCDN_MAX_NAME: the name buffer, so at most 31 characters survive. */
export const ZCDN_MAX_NAME = 32;

export type ZcdnMask = 'ioctlm' | 'apm' | 'aqm' | 'adm';

export class ZcdnDevice {
  readonly perms: Record<ZcdnMask, ApMask> = { ioctlm: ApMask.zero(), apm: ApMask.zero(), aqm: ApMask.zero(), adm: ApMask.zero() };
  constructor(
    readonly name: string,
    readonly minor: number,
  ) {}
}

/** Kernel isspace(): the C-locale spaces plus Latin-1 NBSP (lib/ctype.c marks 0xa0 _S). */
const isspace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r') || c === '\xa0';

/** skip_spaces + strscpy(name, …, ZCDN_MAX_NAME) + strim. */
function nodeName(buf: string): string {
  let i = 0;
  while (i < buf.length && isspace(buf[i]!)) i++;
  let s = buf.slice(i, i + ZCDN_MAX_NAME - 1);
  let e = s.length;
  while (e > 0 && isspace(s[e - 1]!)) e--;
  return s.slice(0, e);
}

export class ZcryptClass {
  readonly nodes = new Map<string, ZcdnDevice>();

  constructor(
    private readonly k: KernelCtx,
    private readonly apPermsMutex: KernelMutex,
  ) {}

  /** Throws EEXIST (name taken), ENOSPC (256 nodes). An empty name gets `zcrypt_<minor>`. */
  create(buf: string): Promise<ZcdnDevice> {
    return inTask(this.k, 'write zcrypt/create', async () => {
      const name = nodeName(buf);
      await this.apPermsMutex.lock({ op: 'write zcrypt/create', fn: 'zcdn_create' });
      try {
        if (name && this.nodes.has(name)) throw new KernelError(Errno.EEXIST, `zcrypt node ${name} exists`);
        const used = new Set([...this.nodes.values()].map((n) => n.minor));
        let minor = 0;
        while (minor < ZCRYPT_MAX_MINOR_NODES && used.has(minor)) minor++;
        if (minor === ZCRYPT_MAX_MINOR_NODES) throw new KernelError(Errno.ENOSPC, 'all 256 zcrypt minor numbers are in use');
        // dev_set_name: kobject names may not contain '/' (kobject_set_name_vargs makes it '!').
        const devName = name ? name.replace(/\//g, '!') : `zcrypt_${minor}`;
        // device_register fails when sysfs has the name already in /sys/class/zcrypt: another node
        // (zcrypt_<minor> named by hand, or "a!b" against "a/b") or the class's own files.
        if (this.nodes.has(devName) || devName === 'create' || devName === 'destroy') throw new KernelError(Errno.EEXIST, `sysfs: cannot create duplicate filename '/class/zcrypt/${devName}'`);
        const dev = new ZcdnDevice(devName, minor);
        this.nodes.set(dev.name, dev);
        this.k.events.uevent('add', `/devices/virtual/zcrypt/${dev.name}`);
        return dev;
      } finally {
        this.apPermsMutex.unlock();
      }
    });
  }

  /** Throws ENOENT when no node has that name. */
  destroy(buf: string): Promise<void> {
    return inTask(this.k, 'write zcrypt/destroy', async () => {
      const name = nodeName(buf);
      await this.apPermsMutex.lock({ op: 'write zcrypt/destroy', fn: 'zcdn_destroy' });
      try {
        if (!this.nodes.delete(name)) throw new KernelError(Errno.ENOENT, `no zcrypt node ${JSON.stringify(name)}`);
        this.k.removals.removed(`zcrypt destroy ${name}`);
        this.k.events.uevent('remove', `/devices/virtual/zcrypt/${name}`);
      } finally {
        this.apPermsMutex.unlock();
      }
    });
  }

  /** A node mask write, §3 syntax, stored at once (no in-use check, no rebinding). Throws EINVAL. */
  maskStore(dev: ZcdnDevice, which: ZcdnMask, buf: string): Promise<void> {
    return inTask(this.k, `write zcrypt/${dev.name}/${which}ask`, async () => {
      await this.apPermsMutex.lock({ op: `write ${dev.name} ${which}ask`, fn: 'ap_parse_mask_str' });
      try {
        dev.perms[which] = parseBitmapStr(buf, dev.perms[which]);
      } finally {
        this.apPermsMutex.unlock();
      }
    });
  }
}
