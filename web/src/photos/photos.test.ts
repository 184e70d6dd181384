import { describe, expect, it } from 'vitest';

import {
  PHOTO_EDGE_DEFAULT_PX,
  PHOTO_EDGE_MAX_PX,
  PHOTO_EDGE_MIN_PX,
  PHOTO_EDGE_STORAGE_KEY,
  fitWithin,
  parsePhotoEdge,
  photoEdgeSetting,
  setPhotoEdgeSetting,
  sha256Fallback,
  sha256Hex,
} from './process';
import { UPLOAD_PART_BYTES, uploadBlob } from './upload';

describe('downscale geometry', () => {
  it('fits the long edge and keeps the aspect', () => {
    expect(fitWithin(4000, 3000, 1600)).toEqual({ width: 1600, height: 1200 });
    expect(fitWithin(3000, 4000, 1600)).toEqual({ width: 1200, height: 1600 });
    expect(fitWithin(800, 600, 1600)).toEqual({ width: 800, height: 600 });
  });
});

describe('sha256Hex', () => {
  it('matches the standard vector', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('the plain-JS fallback (no secure context) agrees with WebCrypto', async () => {
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 300_001]) {
      const data = new Uint8Array(n).map((_, i) => (i * 131 + n) & 0xff);
      expect(hex(sha256Fallback(data)), `length ${n}`).toBe(await sha256Hex(data));
    }
  });
});

/** An in-memory blob endpoint with the server's semantics (server/src/api/blobs.rs). */
function fakeBlobServer(opts: { failAfterParts?: number } = {}) {
  const stored = new Map<string, Uint8Array>();
  const partial = new Map<string, Uint8Array>();
  let parts = 0;
  const calls: string[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const sha = /blobs\/([0-9a-f]{64})/.exec(url)![1];
    calls.push(`${method} ${url.endsWith('/finish') ? 'finish' : ''}`.trim());
    const headers = new Headers(init?.headers);
    if (method === 'HEAD') {
      const s = stored.get(sha);
      if (s) return new Response(null, { status: 200, headers: { 'content-length': String(s.length) } });
      return new Response(null, { status: 404, headers: { 'upload-offset': String(partial.get(sha)?.length ?? 0) } });
    }
    if (method === 'PATCH') {
      if (opts.failAfterParts !== undefined && parts >= opts.failAfterParts) {
        opts.failAfterParts = undefined;
        throw new TypeError('Failed to fetch');
      }
      parts += 1;
      if (stored.has(sha)) return Response.json({ offset: stored.get(sha)!.length, complete: true });
      const offset = Number(headers.get('upload-offset'));
      const have = partial.get(sha) ?? new Uint8Array();
      if (offset !== have.length)
        return Response.json({ error: 'offset', offset: have.length }, { status: 409, headers: { 'upload-offset': String(have.length) } });
      const body = new Uint8Array(init!.body as ArrayBuffer);
      const next = new Uint8Array(have.length + body.length);
      next.set(have);
      next.set(body, have.length);
      partial.set(sha, next);
      return Response.json({ offset: next.length, complete: false });
    }
    if (method === 'POST') {
      const data = partial.get(sha);
      if (!data) return Response.json({ error: 'no upload' }, { status: 404 });
      if ((await sha256Hex(data)) !== sha) {
        partial.delete(sha);
        return Response.json({ error: 'hash' }, { status: 400 });
      }
      stored.set(sha, data);
      partial.delete(sha);
      return Response.json({ size: data.length }, { status: 201 });
    }
    return new Response(null, { status: 405 });
  }) as typeof fetch;
  return { fetchImpl, stored, partial, calls };
}

function bytes(n: number): ArrayBuffer {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b.buffer;
}

describe('resumable upload', () => {
  it('uploads in parts, finishes, and verifies', async () => {
    const data = bytes(UPLOAD_PART_BYTES * 2 + 1000);
    const sha = await sha256Hex(data);
    const srv = fakeBlobServer();
    const progress: number[] = [];
    await uploadBlob({ base: 'http://x', token: 't', sha256: sha, mime: 'image/jpeg', data }, (n) => void progress.push(n), srv.fetchImpl, false);
    expect(srv.stored.get(sha)?.length).toBe(data.byteLength);
    expect(srv.calls).toEqual(['PATCH', 'PATCH', 'PATCH', 'POST finish', 'HEAD']);
    expect(progress.at(-1)).toBe(data.byteLength);
  });

  it('goes on from where the server stands after a lost connection', async () => {
    const data = bytes(UPLOAD_PART_BYTES * 3);
    const sha = await sha256Hex(data);
    const srv = fakeBlobServer({ failAfterParts: 2 });
    const target = { base: 'http://x', token: 't', sha256: sha, mime: 'image/jpeg', data };
    await expect(uploadBlob(target, undefined, srv.fetchImpl, false)).rejects.toThrow('Failed to fetch');
    expect(srv.partial.get(sha)?.length).toBe(UPLOAD_PART_BYTES * 2);
    srv.calls.length = 0;
    await uploadBlob(target, undefined, srv.fetchImpl, true);
    // HEAD says 2 parts are there: only the third is sent again.
    expect(srv.calls).toEqual(['HEAD', 'PATCH', 'POST finish', 'HEAD']);
    expect(srv.stored.get(sha)?.length).toBe(data.byteLength);
  });

  it('follows a 409 to the right offset, and stops when the blob is already stored', async () => {
    const data = bytes(1000);
    const sha = await sha256Hex(data);
    const srv = fakeBlobServer();
    srv.partial.set(sha, new Uint8Array(data.slice(0, 400)));
    await uploadBlob({ base: 'http://x', token: 't', sha256: sha, mime: 'image/jpeg', data }, undefined, srv.fetchImpl, false);
    expect(srv.calls).toEqual(['PATCH', 'PATCH', 'POST finish', 'HEAD']);
    srv.calls.length = 0;
    await uploadBlob({ base: 'http://x', token: 't', sha256: sha, mime: 'image/jpeg', data }, undefined, srv.fetchImpl, true);
    expect(srv.calls).toEqual(['HEAD']);
  });

  it('refuses bytes that do not match their hash', async () => {
    const data = bytes(500);
    const srv = fakeBlobServer();
    await expect(
      uploadBlob({ base: 'http://x', token: 't', sha256: 'a'.repeat(64), mime: 'image/jpeg', data }, undefined, srv.fetchImpl, false),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('photo size setting', () => {
  // node has no localStorage: a plain in-memory Storage stands in for the browser's.
  const mem = new Map<string, string>();
  const storage = {
    getItem: (k: string) => mem.get(k) ?? null,
    setItem: (k: string, v: string) => void mem.set(k, String(v)),
    removeItem: (k: string) => void mem.delete(k),
  };

  it('accepts whole numbers from the minimum to the maximum, and nothing else', () => {
    expect(parsePhotoEdge(String(PHOTO_EDGE_MIN_PX))).toBe(PHOTO_EDGE_MIN_PX);
    expect(parsePhotoEdge(` ${PHOTO_EDGE_MAX_PX} `)).toBe(PHOTO_EDGE_MAX_PX);
    expect(parsePhotoEdge(String(PHOTO_EDGE_MIN_PX - 1))).toBeNull();
    expect(parsePhotoEdge(String(PHOTO_EDGE_MAX_PX + 1))).toBeNull();
    for (const bad of ['', '1600.5', '-1600', '1e3', 'abc']) expect(parsePhotoEdge(bad), bad).toBeNull();
  });

  it('is kept on the device; out of range is refused and a bad stored value reads as the default', () => {
    Object.assign(globalThis, { localStorage: storage });
    try {
      expect(photoEdgeSetting()).toBe(PHOTO_EDGE_DEFAULT_PX);
      setPhotoEdgeSetting(PHOTO_EDGE_MIN_PX);
      expect(photoEdgeSetting()).toBe(PHOTO_EDGE_MIN_PX);
      expect(() => setPhotoEdgeSetting(PHOTO_EDGE_MAX_PX + 1)).toThrow(RangeError);
      expect(() => setPhotoEdgeSetting(PHOTO_EDGE_MIN_PX - 1)).toThrow(RangeError);
      expect(photoEdgeSetting(), 'a refused value leaves the setting as it was').toBe(PHOTO_EDGE_MIN_PX);
      setPhotoEdgeSetting(PHOTO_EDGE_MAX_PX);
      expect(photoEdgeSetting()).toBe(PHOTO_EDGE_MAX_PX);
      mem.set(PHOTO_EDGE_STORAGE_KEY, '99999');
      expect(photoEdgeSetting()).toBe(PHOTO_EDGE_DEFAULT_PX);
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });
});
