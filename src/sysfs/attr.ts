/**
 * Attributes as data: one entry per kernel attribute, the analogue of DEVICE_ATTR_RO/WO/RW and
 * BUS_ATTR_*; the mode comes from the helper, never typed by hand.
 * @kernel include/linux/sysfs.h struct attribute, struct attribute_group (is_visible)
 */
export type AttrMode = 0o444 | 0o200 | 0o644 | 0o600;

export interface Attr<K> {
  /** The file name, exactly the kernel's. */
  readonly name: string;
  readonly mode: AttrMode;
  /** Returns the text the kernel's show() would emit. */
  readonly show?: (kobj: K) => Promise<string> | string;
  /**
   * Handles one write. `buf` is the written bytes as a C string (cut at the first NUL, one char per
   * byte); `count` the number of bytes written (at most PAGE_SIZE). Throws KernelError.
   */
  readonly store?: (kobj: K, buf: string, count: number) => Promise<void> | void;
}

export const ro = <K>(name: string, show: NonNullable<Attr<K>['show']>): Attr<K> => ({ name, mode: 0o444, show });
export const wo = <K>(name: string, store: NonNullable<Attr<K>['store']>): Attr<K> => ({ name, mode: 0o200, store });
export const rw = <K>(name: string, show: NonNullable<Attr<K>['show']>, store: NonNullable<Attr<K>['store']>): Attr<K> => ({ name, mode: 0o644, show, store });
/** Root-only read/write (zcrypt class create/destroy use 0600). */
export const rwRoot = <K>(name: string, show: NonNullable<Attr<K>['show']>, store: NonNullable<Attr<K>['store']>): Attr<K> => ({ name, mode: 0o600, show, store });

export interface AttrGroup<K> {
  readonly attrs: readonly Attr<K>[];
  /** Whether the group's files exist for this object right now (mdev_types_core_is_visible, driver-bound groups). */
  readonly isVisible?: (kobj: K) => boolean;
}

/** The visible attributes of an object, in group order. */
export function visibleAttrs<K>(kobj: K, groups: readonly AttrGroup<K>[]): Attr<K>[] {
  const out: Attr<K>[] = [];
  for (const g of groups) if (!g.isVisible || g.isVisible(kobj)) out.push(...g.attrs);
  return out;
}

export function findAttr<K>(kobj: K, groups: readonly AttrGroup<K>[], name: string): Attr<K> | undefined {
  for (const g of groups) {
    if (g.isVisible && !g.isVisible(kobj)) continue;
    const a = g.attrs.find((x) => x.name === name);
    if (a) return a;
  }
  return undefined;
}
