// Prints what the PWA ships, raw and gzip -9: the WASM module, the JavaScript, the rest.
// Run after `npm run build` (or `make build`): `node web/scripts/size.mjs`.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
if (!fs.existsSync(path.join(DIST, 'index.html'))) {
  console.error('size: no web/dist: run `npm run build` in web/ (or `make build`) first');
  process.exit(1);
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

const groups = { wasm: [], js: [], other: [] };
for (const f of walk(DIST)) {
  const ext = path.extname(f);
  const g = ext === '.wasm' ? 'wasm' : ext === '.js' || ext === '.mjs' ? 'js' : 'other';
  const buf = fs.readFileSync(f);
  groups[g].push({ file: path.relative(DIST, f), raw: buf.length, gz: zlib.gzipSync(buf, { level: 9 }).length });
}

const fmt = (n) => n.toLocaleString('en-US').padStart(11);
let total = { raw: 0, gz: 0 };
for (const [name, files] of Object.entries(groups)) {
  files.sort((a, b) => b.raw - a.raw);
  for (const f of files) console.log(`${fmt(f.raw)} raw ${fmt(f.gz)} gzip  ${f.file}`);
  const raw = files.reduce((s, f) => s + f.raw, 0);
  const gz = files.reduce((s, f) => s + f.gz, 0);
  console.log(`${fmt(raw)} raw ${fmt(gz)} gzip  = ${name} (${files.length} files)\n`);
  total = { raw: total.raw + raw, gz: total.gz + gz };
}
const wasmJs = [...groups.wasm, ...groups.js];
console.log(
  `WASM + JS shipped: ${wasmJs.reduce((s, f) => s + f.raw, 0).toLocaleString('en-US')} bytes raw, ` +
    `${wasmJs.reduce((s, f) => s + f.gz, 0).toLocaleString('en-US')} bytes gzip` +
    ` (everything in dist: ${total.gz.toLocaleString('en-US')} bytes gzip)`,
);
