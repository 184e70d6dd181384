// Writes the app icons (public/icons/*.png) with no dependencies: a clipboard with a
// check mark on the brand colour, drawn with 4×4 supersampling and encoded as PNG by hand.
//
// usage: node scripts/make-icons.mjs   (the PNGs are committed; run again after a change)

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons');

const BRAND = [11, 79, 108];
const WHITE = [255, 255, 255];
const CLIP = [207, 227, 238];
const CHECK = [29, 127, 70];

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const S = 4;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < S; sy++)
        for (let sx = 0; sx < S; sx++) {
          const c = pixel((x + (sx + 0.5) / S) / size, (y + (sy + 0.5) / S) / size);
          for (let i = 0; i < 4; i++) acc[i] += c[i];
        }
      const o = y * (size * 4 + 1) + 1 + x * 4;
      for (let i = 0; i < 4; i++) raw[o + i] = Math.round(acc[i] / (S * S));
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function roundedRect(u, v, x0, y0, x1, y1, r) {
  const cx = Math.max(x0 + r, Math.min(u, x1 - r));
  const cy = Math.max(y0 + r, Math.min(v, y1 - r));
  return (u - cx) ** 2 + (v - cy) ** 2 <= r * r && u >= x0 && u <= x1 && v >= y0 && v <= y1;
}

function segDist(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** The icon at (u, v) in [0,1]²; `inset` shrinks the artwork (maskable safe zone). */
function icon(rounded, inset) {
  const k = 1 - 2 * inset;
  return (u0, v0) => {
    const bg = rounded ? roundedRect(u0, v0, 0, 0, 1, 1, 0.2) : true;
    if (!bg) return [0, 0, 0, 0];
    const u = (u0 - inset) / k, v = (v0 - inset) / k;
    const rgb = (c) => [...c, 255];
    // clip at the top of the board
    if (roundedRect(u, v, 0.36, 0.14, 0.64, 0.26, 0.04)) return rgb(CLIP);
    // the board
    if (roundedRect(u, v, 0.22, 0.2, 0.78, 0.88, 0.06)) {
      const d = Math.min(segDist(u, v, 0.33, 0.55, 0.46, 0.69), segDist(u, v, 0.46, 0.69, 0.69, 0.4));
      if (d < 0.055) return rgb(CHECK);
      return rgb(WHITE);
    }
    return rgb(BRAND);
  };
}

fs.mkdirSync(OUT, { recursive: true });
for (const [name, size, rounded, inset] of [
  ['icon-192.png', 192, true, 0],
  ['icon-512.png', 512, true, 0],
  ['icon-maskable-512.png', 512, false, 0.12],
  ['apple-touch-icon.png', 180, false, 0.04],
]) {
  const file = path.join(OUT, name);
  fs.writeFileSync(file, png(size, icon(rounded, inset)));
  console.log(`${file} ${fs.statSync(file).size} bytes`);
}
