// Smoke test of the built WASM module in node: loads web/pkg/gendan_core.js (wasm-bindgen
// --target web output), computes an AQL plan and edits an inspection through the bindings.
//
// usage: node tools/smoke-wasm.mjs [pkg dir, default web/pkg]

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const pkg = path.resolve(process.argv[2] ?? 'web/pkg');
const glue = path.join(pkg, 'gendan_core.js');
const wasm = path.join(pkg, 'gendan_core_bg.wasm');

const core = await import(pathToFileURL(glue).href);
// --target web: the default export is the async init; in node there is no fetch of a
// file URL, so hand it the bytes.
await core.default({ module_or_path: fs.readFileSync(wasm) });

let checks = 0;
function check(name, f) {
  try {
    f();
    checks += 1;
  } catch (e) {
    console.error(`smoke-wasm: FAIL: ${name}`);
    console.error(e);
    process.exit(1);
  }
}

// AQL: lot 5000, general level II, AQL 2.5 -> code letter L, n = 200, Ac 10 / Re 11.
check('aqlPlan(5000, "II", "2.5")', () => {
  const plan = core.aqlPlan(5000, 'II', '2.5');
  assert.deepEqual(
    {
      code_letter: plan.code_letter,
      sample_size: plan.sample_size,
      accept: plan.accept,
      reject: plan.reject,
      inspect_all: plan.inspect_all,
    },
    { code_letter: 'L', sample_size: 200, accept: 10, reject: 11, inspect_all: false },
  );
});

check('aqlPlan rejects a fractional lot size', () => {
  assert.throws(() => core.aqlPlan(10.5, 'II', '2.5'));
});

// An inspection: create, add a defect, view.
let rec;
check('WasmRecord.create("inspection", ...)', () => {
  rec = core.WasmRecord.create(
    'inspection',
    JSON.stringify({ lot_size: 500, title: 't' }),
    new Uint8Array(16).fill(7),
    'qc1',
    Date.now(),
  );
  assert.equal(rec.recordType(), 'inspection');
});

check('apply add_defect', () => {
  rec.apply(
    JSON.stringify({ op: 'add_defect', id: 'd1', class: 'major', description: 'x' }),
    'qc1',
    Date.now(),
  );
});

check('view: defects.d1.qty === 1', () => {
  const view = rec.view('qc1', false);
  assert.equal(view.record.defects.d1.qty, 1);
  assert.equal(view.record.defects.d1.class, 'major');
});

check('save/load round trip', () => {
  const bytes = rec.save();
  assert.ok(bytes instanceof Uint8Array && bytes.length > 0);
  const again = core.WasmRecord.load(bytes, new Uint8Array(16).fill(8));
  assert.equal(again.view('qc1', false).record.defects.d1.qty, 1);
  again.free();
});

check('a bad operation throws, it does not abort the module', () => {
  assert.throws(() => rec.apply('{"op":"no_such_op"}', 'qc1', Date.now()));
  // The module is still usable after the error.
  assert.equal(rec.view('qc1', false).record.defects.d1.qty, 1);
});

rec.free();
console.log(`wasm smoke test: OK, ${checks} checks (${path.relative(process.cwd(), glue)})`);
