// Photos are downscaled on the device before they are stored or sent: a 12-megapixel
// camera picture becomes a ~300 KB JPEG with its long edge at 1600 px (configurable).

/** The long edge of a stored photo, by default. */
export const PHOTO_EDGE_DEFAULT_PX = 1600;
/** JPEG quality of stored photos. */
export const PHOTO_JPEG_QUALITY = 0.85;
/** The smallest long edge a user may set (smaller makes defects unreadable). */
export const PHOTO_EDGE_MIN_PX = 800;
/** The largest long edge a user may set (larger makes uploads on a dock's network too slow). */
export const PHOTO_EDGE_MAX_PX = 4000;
/** Where the device keeps the setting. */
export const PHOTO_EDGE_STORAGE_KEY = 'gendan.photoEdge';

/** Width and height scaled so the long edge is at most `maxEdge` (never enlarged). */
export function fitWithin(width: number, height: number, maxEdge: number): { width: number; height: number } {
  const long = Math.max(width, height);
  if (long <= maxEdge || long === 0) return { width, height };
  const k = maxEdge / long;
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) };
}

const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/**
 * SHA-256 in plain JavaScript, for pages that are not a secure context (plain HTTP on a
 * factory LAN), where `crypto.subtle` does not exist.
 */
export function sha256Fallback(bytes: Uint8Array): Uint8Array {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = bytes.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[len] = 0x80;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, Math.floor(len / 0x20000000));
  dv.setUint32(padded.length - 4, (len << 3) >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  const out = new Uint8Array(32);
  const odv = new DataView(out.buffer);
  h.forEach((v, i) => odv.setUint32(i * 4, v));
  return out;
}

/** SHA-256 of the bytes as lower-case hex (the blob's name on the server). */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const digest = globalThis.crypto?.subtle
    ? new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource))
    : sha256Fallback(bytes);
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A long edge typed by the user: a whole number of pixels within the limits, else null. */
export function parsePhotoEdge(text: string): number | null {
  const s = text.trim();
  if (!/^\d+$/.test(s)) return null;
  const v = Number(s);
  return v >= PHOTO_EDGE_MIN_PX && v <= PHOTO_EDGE_MAX_PX ? v : null;
}

/** The long edge set on this device; the default when none (or a bad value) is stored. */
export function photoEdgeSetting(): number {
  const stored = globalThis.localStorage?.getItem(PHOTO_EDGE_STORAGE_KEY);
  return (stored != null ? parsePhotoEdge(stored) : null) ?? PHOTO_EDGE_DEFAULT_PX;
}

/** Sets the long edge; a value outside the limits is refused (RangeError), nothing stored. */
export function setPhotoEdgeSetting(px: number): void {
  if (!Number.isInteger(px) || px < PHOTO_EDGE_MIN_PX || px > PHOTO_EDGE_MAX_PX)
    throw new RangeError(`the photo long edge must be a whole number from ${PHOTO_EDGE_MIN_PX} to ${PHOTO_EDGE_MAX_PX} px`);
  globalThis.localStorage?.setItem(PHOTO_EDGE_STORAGE_KEY, String(px));
}

/** Decodes an image file, scales it down and encodes it as JPEG. */
export async function downscale(file: Blob, maxEdge: number = photoEdgeSetting()): Promise<Blob> {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' } as ImageBitmapOptions);
  try {
    const { width, height } = fitWithin(bitmap.width, bitmap.height, maxEdge);
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    ctx.drawImage(bitmap, 0, 0, width, height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the photo'))), 'image/jpeg', PHOTO_JPEG_QUALITY),
    );
  } finally {
    bitmap.close();
  }
}
