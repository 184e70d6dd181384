// Uploads a photo to the blob endpoint, resumably, and confirms the server has it whole.
//
//   HEAD  /api/v1/blobs/{sha256}          200: stored (Content-Length) · 404: Upload-Offset = bytes so far
//   PATCH /api/v1/blobs/{sha256}          Upload-Offset: N, one part  → {"offset", "complete"} · 409: continue at Upload-Offset
//   POST  /api/v1/blobs/{sha256}/finish   {"mime"} → the server checks the SHA-256 and stores it
//
// The upload goes on from wherever the server stands, so a connection lost half-way costs
// one part, not the photo.

import { ApiError } from '../api';

/** Bytes per PATCH: small enough to get through patchy factory Wi-Fi. */
export const UPLOAD_PART_BYTES = 128 * 1024;

export interface UploadTarget {
  base: string;
  token: string;
  sha256: string;
  mime: string;
  data: ArrayBuffer;
}

export interface UploadProgress {
  (uploadedBytes: number): void | Promise<void>;
}

function offsetOf(r: Response): number | null {
  const v = r.headers.get('upload-offset');
  if (v === null) return null;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

async function fail(r: Response): Promise<never> {
  let message = `${r.status}`;
  try {
    const j = (await r.json()) as { error?: string };
    if (j.error) message = j.error;
  } catch {
    /* not JSON */
  }
  throw new ApiError(r.status, message);
}

/** Whether the server holds the blob whole (and with the right size). */
export async function blobStored(t: Omit<UploadTarget, 'data' | 'mime'> & { bytes: number }, fetchImpl: typeof fetch = fetch): Promise<boolean> {
  const r = await fetchImpl(`${t.base}/api/v1/blobs/${t.sha256}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${t.token}` },
    cache: 'no-store',
  });
  if (r.status === 401) await fail(r);
  if (!r.ok) return false;
  const len = Number.parseInt(r.headers.get('content-length') ?? '', 10);
  return !Number.isFinite(len) || len === t.bytes;
}

/**
 * Uploads `t.data` under its SHA-256 and returns once the server confirms it holds the
 * blob whole. Throws ApiError on an HTTP error, TypeError when the network fails.
 */
export async function uploadBlob(
  t: UploadTarget,
  onProgress?: UploadProgress,
  fetchImpl: typeof fetch = fetch,
  probe = true,
): Promise<void> {
  const url = `${t.base}/api/v1/blobs/${t.sha256}`;
  const auth = { authorization: `Bearer ${t.token}` };
  const total = t.data.byteLength;

  // A first attempt starts at 0 without asking (a 409 or `complete` corrects it); a retry
  // asks where the server stands.
  let offset = 0;
  if (probe) {
    const head = await fetchImpl(url, { method: 'HEAD', headers: auth, cache: 'no-store' });
    if (head.status === 401) await fail(head);
    if (head.ok) {
      await onProgress?.(total);
      return;
    }
    offset = offsetOf(head) ?? 0;
    if (offset > total) offset = 0;
  }
  let conflicts = 0;
  while (offset < total) {
    const part = t.data.slice(offset, Math.min(total, offset + UPLOAD_PART_BYTES));
    const r = await fetchImpl(url, {
      method: 'PATCH',
      headers: { ...auth, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body: part,
    });
    if (r.status === 409) {
      const at = offsetOf(r);
      if (at === null || ++conflicts > 5) await fail(r);
      offset = Math.min(at as number, total);
      continue;
    }
    if (!r.ok) await fail(r);
    const j = (await r.json()) as { offset: number; complete?: boolean };
    if (j.complete) {
      await onProgress?.(total);
      return;
    }
    offset = j.offset;
    await onProgress?.(offset);
  }
  const fin = await fetchImpl(`${url}/finish`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ mime: t.mime }),
  });
  if (!fin.ok) await fail(fin);
  // Verify: the server now serves it whole.
  if (!(await blobStored({ base: t.base, token: t.token, sha256: t.sha256, bytes: total }, fetchImpl))) {
    throw new ApiError(500, 'the server does not show the photo after the upload');
  }
  await onProgress?.(total);
}
