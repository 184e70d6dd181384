// Barcode scanning shared by the stock count and the shipment check: the camera with the
// browser's BarcodeDetector where it has one, and keyboard-wedge scanners (which type the
// code fast and end with Enter) anywhere on the page.

import { useEffect, useRef, useState } from 'preact/hooks';

import { t, type MessageKey } from '../i18n';

/** Keystrokes further apart than this are typing, not a scanner. */
export const WEDGE_KEY_GAP_MS = 60;
/** The shortest code a scanner sends. */
export const WEDGE_MIN_CHARS = 3;

type Detector = { detect(source: CanvasImageSource): Promise<Array<{ rawValue: string }>> };
type DetectorCtor = new (opts?: { formats?: string[] }) => Detector;

export function barcodeDetector(): DetectorCtor | null {
  return (globalThis as unknown as { BarcodeDetector?: DetectorCtor }).BarcodeDetector ?? null;
}

/** Why the camera could not start, in words (getUserMedia rejects with a DOMException). */
export function cameraErrorKey(e: unknown): MessageKey {
  const name = (e as { name?: string } | null)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'scan.camera_denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'scan.camera_none';
  return 'scan.camera_error';
}

/** The camera, reading barcodes until one is found. */
export function CameraScanner({ onCode, onClose }: { onCode: (c: string) => void; onClose: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<MessageKey | null>(null);
  useEffect(() => {
    const Ctor = barcodeDetector();
    if (!Ctor) return;
    let stream: MediaStream | null = null;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const detector = new Ctor();
    (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        if (!alive || !video.current) return;
        video.current.srcObject = stream;
        await video.current.play();
        const tick = async () => {
          if (!alive || !video.current) return;
          try {
            const codes = await detector.detect(video.current);
            if (codes.length > 0) {
              onCode(codes[0].rawValue);
              return;
            }
          } catch {
            /* a frame that could not be read */
          }
          timer = setTimeout(tick, 250);
        };
        void tick();
      } catch (e) {
        console.warn('camera', e);
        setError(cameraErrorKey(e));
      }
    })();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
      stream?.getTracks().forEach((tr) => tr.stop());
    };
  }, []);
  return (
    <div class="modal-backdrop">
      <div class="modal scanner">
        <video ref={video} playsInline muted />
        {error && (
          <p class="error" data-testid="camera-error">
            {t(error)}
          </p>
        )}
        <button type="button" class="btn" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </div>
  );
}

/**
 * Calls `onCode` for each code a keyboard-wedge scanner types while the focus is not in a
 * field (in a field, the field's own form gets it).
 */
export function useWedgeScanner(onCode: (code: string) => void): void {
  const ref = useRef(onCode);
  ref.current = onCode;
  useEffect(() => {
    let buffer = '';
    let last = 0;
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement | null;
      if (el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT')) return;
      const now = performance.now();
      if (now - last > WEDGE_KEY_GAP_MS) buffer = '';
      last = now;
      if (e.key === 'Enter') {
        if (buffer.length >= WEDGE_MIN_CHARS) {
          e.preventDefault();
          ref.current(buffer);
        }
        buffer = '';
      } else if (e.key.length === 1) buffer += e.key;
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}
