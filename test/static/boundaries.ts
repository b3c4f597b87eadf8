/**
 * Layer boundaries (style.md, the umockdev test-static-code idea): parse every import of src/ with
 * the TypeScript pre-processor and fail if
 * - src/model imports sysfs, fuse, cli or control, node:fs or fuse-native;
 * - src/sysfs imports src/model/lock or fuse (or fuse-native);
 * - anything outside src/cli calls process.exit.
 * Each rule is also run against a small bad sample, so a checker that sees nothing cannot pass.
 */
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { posix } from 'node:path';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every .ts file under src/, as a repository-relative posix path. */
function sources(dir = 'src'): string[] {
  const out: string[] = [];
  for (const name of readdirSync(`${ROOT}${dir}`)) {
    const p = `${dir}/${name}`;
    if (statSync(`${ROOT}${p}`).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * The module specifiers of a file (static imports, re-exports, dynamic import()), each with what it
 * resolves to: a repository path without extension for relative ones, the bare name otherwise.
 */
function imports(file: string, text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map(({ fileName: spec }) =>
    spec.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.(js|ts)$/, '') : spec,
  );
}

/** Calls of process.exit (`process.exit(…)`, `process['exit'](…)`, and a bare reference to it). */
function processExits(file: string, text: string): number[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const lines: number[] = [];
  const visit = (n: ts.Node): void => {
    const isProcess = (e: ts.Expression) => ts.isIdentifier(e) && e.text === 'process';
    if (
      (ts.isPropertyAccessExpression(n) && isProcess(n.expression) && n.name.text === 'exit') ||
      (ts.isElementAccessExpression(n) && isProcess(n.expression) && ts.isStringLiteralLike(n.argumentExpression) && n.argumentExpression.text === 'exit')
    ) {
      lines.push(sf.getLineAndCharacterOfPosition(n.getStart()).line + 1);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return lines;
}

const FS = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises'];
const under = (dir: string) => (target: string) => target === dir || target.startsWith(`${dir}/`);

interface Rule {
  readonly name: string;
  readonly applies: (file: string) => boolean;
  readonly forbidden: (target: string) => boolean;
}

const RULES: Rule[] = [
  {
    name: 'src/model imports no sysfs, fuse, cli, control, node:fs or fuse-native',
    applies: under('src/model'),
    forbidden: (x) => ['src/sysfs', 'src/fuse', 'src/cli', 'src/control'].some((d) => under(d)(x)) || FS.includes(x) || x === 'fuse-native',
  },
  {
    name: 'src/sysfs imports no lock and no fuse',
    applies: under('src/sysfs'),
    forbidden: (x) => under('src/model/lock')(x) || under('src/fuse')(x) || x === 'fuse-native',
  },
];

function violations(rule: Rule, files: [path: string, text: string][]): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    if (!rule.applies(file)) continue;
    for (const target of imports(file, text)) if (rule.forbidden(target)) out.push(`${file} imports ${target}`);
  }
  return out;
}

const exitViolations = (files: [path: string, text: string][]): string[] =>
  files.filter(([f]) => !under('src/cli')(f)).flatMap(([f, text]) => processExits(f, text).map((l) => `${f}:${l} calls process.exit`));

const FILES: [string, string][] = sources().map((f) => [f, readFileSync(`${ROOT}${f}`, 'utf8')]);

t.test('the checker sees the tree', async (t) => {
  t.ok(FILES.some(([f]) => f.startsWith('src/model/')), 'model files found');
  t.ok(FILES.some(([f]) => f.startsWith('src/sysfs/')), 'sysfs files found');
  const hostImports = imports('src/model/host.ts', FILES.find(([f]) => f === 'src/model/host.ts')![1]);
  t.ok(hostImports.includes('src/model/lock/lockdep'), 'relative imports are resolved');
  t.ok(hostImports.includes('src/log'));
});

for (const rule of RULES) {
  t.test(rule.name, async (t) => {
    t.same(violations(rule, FILES), []);
  });
}

t.test('only src/cli calls process.exit', async (t) => {
  t.same(exitViolations(FILES), []);
});

t.test('the rules catch bad samples', async (t) => {
  const bad: [string, string][] = [
    ['src/model/ap/bad.ts', "import { createSysfs } from '../../sysfs/tree.js';\nimport fs from 'node:fs';"],
    ['src/model/bad2.ts', "export { x } from '../fuse/ops.js';\nconst m = await import('fuse-native');\nimport '../cli/main.js';\nimport { y } from './../control/server.js';"],
    ['src/model/bad3.ts', "import { readFile } from 'fs/promises';"],
    ['src/sysfs/bad.ts', "import { KernelMutex } from '../model/lock/kernel-mutex.js';\nimport type { X } from '../fuse/ops.js';"],
    ['src/sysfs/groups/bad.ts', "import { Lockdep } from '../../model/lock/lockdep.js';"],
    ['src/model/ok.ts', "import { ApMask } from './ap/ap-mask.js';\nimport { log } from '../log.js';\nimport { AsyncLocalStorage } from 'node:async_hooks';"],
    ['src/sysfs/ok.ts', "import { Host } from '../model/host.js';\nimport { kstrtoul } from './parse.js';"],
  ];
  t.same(violations(RULES[0]!, bad), [
    'src/model/ap/bad.ts imports src/sysfs/tree',
    'src/model/ap/bad.ts imports node:fs',
    'src/model/bad2.ts imports src/fuse/ops',
    'src/model/bad2.ts imports fuse-native',
    'src/model/bad2.ts imports src/cli/main',
    'src/model/bad2.ts imports src/control/server',
    'src/model/bad3.ts imports fs/promises',
  ]);
  t.same(violations(RULES[1]!, bad), [
    'src/sysfs/bad.ts imports src/model/lock/kernel-mutex',
    'src/sysfs/bad.ts imports src/fuse/ops',
    'src/sysfs/groups/bad.ts imports src/model/lock/lockdep',
  ]);
  t.same(
    exitViolations([
      ['src/fuse/x.ts', 'function f() {\n  process.exit(1);\n}\n// process.exit in a comment does not count\nconst s = "process.exit";'],
      ['src/model/y.ts', "const e = process['exit'];"],
      ['src/cli/main.ts', 'process.exit(2);'],
      ['src/ns/z.ts', 'process.exitCode = 1;'],
    ]),
    ['src/fuse/x.ts:2 calls process.exit', 'src/model/y.ts:1 calls process.exit'],
  );
});
