// The WASM core (gendan-core built with `make build` into web/pkg, wasm-bindgen --target
// web). It holds the records, their rules and the sync peer; this module only loads it.

import init, { WasmClient, WasmRecord, aqlPlan, documentId } from '../pkg/gendan_core.js';

export { WasmClient, WasmRecord, aqlPlan, documentId };

let ready: Promise<void> | null = null;

/**
 * Loads the module once. In the browser the glue fetches the `.wasm` next to it (a
 * precached asset, so this works offline); tests pass the bytes.
 */
export function loadCore(bytes?: BufferSource): Promise<void> {
  ready ??= init(bytes ? { module_or_path: bytes } : undefined).then(() => undefined);
  return ready;
}

/** 16 random bytes (actor ids, document ids, peer ids). */
export function randomBytes16(): Uint8Array {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return b;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
