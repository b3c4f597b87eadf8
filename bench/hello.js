#!/usr/bin/env node
// The baseline: a minimal fuse-native file system, mounted with apsysfs's own options.
//
//   node bench/hello.js DIR SPEC.json
//
// SPEC is {"files": {"/bus/ap/apmask": {"content": "0x...\n", "mode": 420}, "/x/assign": {"mode": 128},
// "/x/refused": {"mode": 128, "refuse": "EADDRNOTAVAIL"}}}; directories are implied. The bench gives
// it the same paths as the apsysfs files it measures, so that both pay the same lookups per open.
// Every handler answers at once from a Map: what is left of a read is fuse-native, libfuse and the
// kernel, the floor under apsysfs. Prints one JSON line saying which options it mounted with, then
// serves until SIGTERM/SIGINT and unmounts.
import { readFileSync } from 'node:fs';
import { fuseForBaseline } from './mount-options.js';

const [dir, specFile] = process.argv.slice(2);
if (!dir || !specFile) {
  process.stderr.write('usage: node bench/hello.js DIR SPEC.json\n');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specFile, 'utf8'));

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const time = new Date();

/** path → { kind, mode, ino, content?, refuse?, children? } */
const nodes = new Map([['/', { kind: 'dir', mode: 0o755, ino: 1, children: [] }]]);
for (const [file, { content = '', mode = 0o444, refuse }] of Object.entries(spec.files)) {
  const parts = file.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    if (nodes.has(p)) continue;
    const parent = nodes.get(`/${parts.slice(0, i - 1).join('/')}`);
    parent.children.push(parts[i - 1]);
    const leaf = i === parts.length;
    nodes.set(p, leaf
      ? { kind: 'file', mode, ino: nodes.size + 1, content: Buffer.from(content), refuse }
      : { kind: 'dir', mode: 0o755, ino: nodes.size + 1, children: [] });
  }
}

const stat = n => ({
  mode: (n.kind === 'dir' ? S_IFDIR : S_IFREG) | n.mode,
  uid: 0, gid: 0, size: n.kind === 'dir' ? 0 : 4096, ino: n.ino, nlink: 1, blksize: 4096, blocks: 0,
  atime: time, mtime: time, ctime: time,
});

const { Fuse, options, source } = await fuseForBaseline(dir);
const ENOENT = Fuse.ENOENT;
let nextFd = 1;

const ops = {
  getattr: (p, cb) => {
    const n = nodes.get(p);
    return n ? cb(0, stat(n)) : cb(ENOENT);
  },
  readdir: (p, cb) => {
    const n = nodes.get(p);
    if (!n) return cb(ENOENT);
    if (n.kind !== 'dir') return cb(Fuse.ENOTDIR);
    return cb(0, n.children, n.children.map(c => stat(nodes.get(p === '/' ? `/${c}` : `${p}/${c}`))));
  },
  open: (p, _flags, cb) => (nodes.has(p) ? cb(0, nextFd++) : cb(ENOENT)),
  read: (p, _fd, buf, len, pos, cb) => {
    const content = nodes.get(p)?.content ?? Buffer.alloc(0);
    cb(content.copy(buf, 0, pos, Math.min(content.length, pos + len)));
  },
  write: (p, _fd, _buf, len, _pos, cb) => {
    const refuse = nodes.get(p)?.refuse;
    cb(refuse ? Fuse[refuse] : len);
  },
  truncate: (_p, _size, cb) => cb(0),
  ftruncate: (_p, _fd, _size, cb) => cb(0),
  release: (_p, _fd, cb) => cb(0),
};

const fuse = new Fuse(dir, ops, options.constructorOptions);
fuse._fuseOptions = () => options.optionString;
await new Promise((resolve, reject) => fuse.mount(err => (err ? reject(err) : resolve())));
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, options: options.optionString, source })}\n`);

const stop = () => fuse.unmount(err => {
  if (err) process.stderr.write(`hello: unmount ${dir}: ${err.message}\n`);
  process.exit(err ? 1 : 0);
});
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
