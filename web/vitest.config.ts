import { defineConfig } from 'vitest/config';

// Unit tests of the client logic run in node: the real WASM core (web/pkg), IndexedDB
// from fake-indexeddb, a fake WebSocket.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
});
