/**
 * Building blocks of the tree: directories that compute their entries from the model on every
 * lookup (so devices appear and vanish the moment the model changes), attribute files and relative
 * symlinks. No state is copied out of the model.
 */
import { findAttr, visibleAttrs, type Attr, type AttrGroup } from './attr.js';

export interface FileNode {
  readonly kind: 'file';
  readonly attr: Attr<unknown>;
  readonly kobj: unknown;
}
export interface LinkNode {
  readonly kind: 'link';
  readonly target: string;
}
export interface DirNode {
  readonly kind: 'dir';
  list(): string[];
  child(name: string): Node | undefined;
}
export type Node = FileNode | LinkNode | DirNode;

export type Entries = Record<string, () => Node | undefined>;

export const link = (target: string): LinkNode => ({ kind: 'link', target });

/** A directory whose entries are fixed names, each present while its thunk returns a node. */
export function staticDir(entries: Entries): DirNode {
  return {
    kind: 'dir',
    list: () => Object.keys(entries).filter((n) => entries[n]!() !== undefined),
    child: (name) => (Object.hasOwn(entries, name) ? entries[name]!() : undefined),
  };
}

/** Entries computed from the model: names in listing order and an O(1)-ish lookup. */
export interface Dynamic {
  list(): Iterable<string>;
  child(name: string): Node | undefined;
}

/** A kobject's directory: its visible attributes, fixed sub-entries, then dynamic children. */
export function attrDir<K>(kobj: K, groups: readonly AttrGroup<K>[], entries: Entries = {}, dyn?: Dynamic): DirNode {
  return {
    kind: 'dir',
    list: () => {
      const names = visibleAttrs(kobj, groups).map((a) => a.name);
      for (const n of Object.keys(entries)) if (entries[n]!() !== undefined) names.push(n);
      if (dyn) for (const n of dyn.list()) names.push(n);
      return names;
    },
    child: (name) => {
      const a = findAttr(kobj, groups, name);
      if (a) return { kind: 'file', attr: a as Attr<unknown>, kobj };
      if (Object.hasOwn(entries, name)) return entries[name]!();
      return dyn?.child(name);
    },
  };
}

/** The relative target of a symlink at `from` (its own path) pointing to `to`, as sysfs writes them. */
export function relLink(from: string, to: string): LinkNode {
  const a = from.split('/').filter(Boolean);
  const b = to.split('/').filter(Boolean);
  a.pop();
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return link([...Array(a.length - i).fill('..'), ...b.slice(i)].join('/'));
}
