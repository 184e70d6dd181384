// Loads the real WASM core (web/pkg, built by `make build`) for unit tests in node.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadCore } from '../core';

const PKG = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'pkg');

export async function loadCoreForTests(): Promise<void> {
  await loadCore(fs.readFileSync(path.join(PKG, 'gendan_core_bg.wasm')));
}
