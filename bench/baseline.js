// The files the bench reads and writes on apsysfs (bench/topology.json), and the hello baseline
// (bench/hello.js) serving the same paths with the same bytes: every open pays the same lookups
// (entry_timeout=0 means one FUSE LOOKUP per path component) on both.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon } from './daemons.js';

const HELLO = fileURLToPath(new URL('hello.js', import.meta.url));
export const TOPOLOGY = fileURLToPath(new URL('topology.json', import.meta.url));
export const MDEV = 'devices/vfio_ap/matrix/a297db4a-f4c2-11e6-90f6-d3b88d6c9525';

/** Attributes read; `content` is what apsysfs shows for them on bench/topology.json. */
export const FILES = {
  apmask: { path: 'bus/ap/apmask', mode: 0o644, content: `0xf9${'f'.repeat(62)}\n` },
  queue: { path: 'devices/ap/card04/04.0004/online', mode: 0o644, content: '1\n' },
  matrix: { path: `${MDEV}/matrix`, mode: 0o444, content: '05.0004\n05.0047\n' },
};

// assign_domain 6 adds APQN 05.0006 (adapter 5 is free of the host's apmask, 6 is a usage domain)
// and unassign_domain 6 takes it away: the cycle leaves the mdev as it was.
export const CYCLE = [
  { file: `${MDEV}/assign_domain`, value: '0x0006' },
  { file: `${MDEV}/unassign_domain`, value: '0x0006' },
];
// Adapter 4 belongs to the host (apmask): vfio_ap refuses it with EADDRNOTAVAIL.
export const REFUSED = { file: `${MDEV}/assign_adapter`, value: '0x04', refused: true, errno: 'EADDRNOTAVAIL' };

/** Start a hello baseline on WORK/NAME. */
export async function startBaseline(work, name = 'hello') {
  const files = Object.fromEntries(Object.values(FILES).map(f => [`/${f.path}`, { content: f.content, mode: f.mode }]));
  for (const w of CYCLE) files[`/${w.file}`] = { mode: 0o200 };
  files[`/${REFUSED.file}`] = { mode: 0o200, refuse: REFUSED.errno };
  const specFile = path.join(work, `${name}-spec.json`);
  writeFileSync(specFile, JSON.stringify({ files }));
  const dir = path.join(work, name);
  return startDaemon({
    name: `${name} baseline`,
    argv: [process.execPath, HELLO, dir, specFile],
    dir,
    readyPath: path.join(dir, FILES.matrix.path),
    logFile: path.join(work, `${name}.log`),
  });
}
