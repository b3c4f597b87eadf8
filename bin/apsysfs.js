#!/usr/bin/env node
// The apsysfs command: a shim over the compiled CLI in dist/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("apsysfs: dist/ is not built: run npm install (it builds) or npm run build\n");
  process.exit(1);
}
const { cli } = await import(main.href);
await cli(process.argv.slice(2));
