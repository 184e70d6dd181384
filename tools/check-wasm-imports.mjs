// Proof that the core does no IO of its own: the optimised WASM module may import only from
// the wasm-bindgen glue module (`./<name>_bg.js`), never from `env` (which is what an
// unresolved libc/OS symbol, or any `extern "C"` the core declared, turns into).
//
// usage: node tools/check-wasm-imports.mjs web/pkg/gendan_core_bg.wasm
// Exits 0 when clean; 1 (listing the offending imports) otherwise; 2 on usage/read errors.

import fs from 'node:fs';
import path from 'node:path';

const file = process.argv[2];
if (!file) {
  console.error('usage: node tools/check-wasm-imports.mjs <module_bg.wasm>');
  process.exit(2);
}

let imports;
try {
  const bytes = fs.readFileSync(file);
  imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
} catch (e) {
  console.error(`check-wasm-imports: cannot load ${file}: ${e.message}`);
  process.exit(2);
}

// wasm-bindgen names its glue module after the .wasm file: foo_bg.wasm -> ./foo_bg.js
// (older wasm-bindgen versions used "wbg" for --target web).
const glue = `./${path.basename(file, '.wasm')}.js`;
const glueModules = new Set([glue, 'wbg']);

const byModule = new Map();
for (const imp of imports) {
  if (!byModule.has(imp.module)) byModule.set(imp.module, []);
  byModule.get(imp.module).push(imp);
}

const bad = imports.filter((imp) => !glueModules.has(imp.module));
const env = imports.filter((imp) => imp.module === 'env');

// wasm-bindgen suffixes import names with a hash; strip it to keep the summary readable.
const short = (name) => name.replace(/_[0-9a-f]{16}$/, '');
const glueNames = imports.map((imp) => short(imp.name));

if (bad.length > 0) {
  if (env.length > 0) {
    console.error(`FAIL: ${file} imports ${env.length} symbol(s) from "env" (the core must do no IO):`);
    for (const imp of env) console.error(`  env.${imp.name} (${imp.kind})`);
  }
  const other = bad.filter((imp) => imp.module !== 'env');
  if (other.length > 0) {
    console.error(`FAIL: ${file} imports from module(s) other than the glue "${glue}":`);
    for (const imp of other) console.error(`  ${imp.module}.${imp.name} (${imp.kind})`);
  }
  process.exit(1);
}

console.log(
  `wasm imports: OK, ${imports.length} import(s), all from the wasm-bindgen glue "${glue}", none from "env"`,
);
console.log(`  ${[...new Set(glueNames)].sort().join(', ')}`);
