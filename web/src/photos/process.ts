// Photos are downscaled on the device before they are stored or sent: a 12-megapixel
// camera picture becomes a ~300 KB JPEG with its long edge at 1600 px (configurable).

/** The long edge of a stored photo, by default. */
export const PHOTO_EDGE_DEFAULT_PX = 1600;
/** JPEG quality of stored photos. */
export const PHOTO_JPEG_QUALITY = 0.85;
/** The long edges a user may choose. */
export const PHOTO_EDGE_CHOICES_PX = [1024, 1600, 2048] as const;

/** Width and height scaled so the long edge is at most `maxEdge` (never enlarged). */
export function fitWithin(width: number, height: number, maxEdge: number): { width: number; height: number } {
  const long = Math.max(width, height);
  if (long <= maxEdge || long === 0) return { width, height };
  const k = maxEdge / long;
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) };
}

/** SHA-256 of the bytes as lower-case hex (the blob's name on the server). */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function photoEdgeSetting(): number {
  const v = Number(globalThis.localStorage?.getItem('gendan.photoEdge'));
  return PHOTO_EDGE_CHOICES_PX.includes(v as (typeof PHOTO_EDGE_CHOICES_PX)[number]) ? v : PHOTO_EDGE_DEFAULT_PX;
}

export function setPhotoEdgeSetting(px: number): void {
  globalThis.localStorage?.setItem('gendan.photoEdge', String(px));
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
