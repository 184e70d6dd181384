// Building blocks shared by the screens: the engine context, tallies, photos, the
// signature pad, confirmation dialogs and toasts. Every control is at least 48 px tall.

import { createContext, type ComponentChildren } from 'preact';
import { useSyncExternalStore } from 'preact/compat';
import { useContext, useEffect, useRef, useState, useCallback } from 'preact/hooks';

import { t, type MessageKey } from '../i18n';
import { errorText } from '../i18n/errors';
import { codeLabel, codesOf } from '../i18n/labels';
import { downscale, sha256Hex } from '../photos/process';
import type { SyncEngine } from '../sync/engine';

// --- engine ------------------------------------------------------------------------------

export const EngineContext = createContext<SyncEngine | null>(null);

/**
 * The engine; the component re-renders on every change the engine reports.
 *
 * Subscribing happens in an effect, after the render: a change reported in between (the
 * socket joining while the status bar first paints) reaches no listener. Preact's
 * `useSyncExternalStore` compares the version again once subscribed and renders anew if it
 * moved; a plain `useState` + `useEffect` left the status bar on "connecting" for good.
 */
export function useEngine(): SyncEngine {
  const engine = useContext(EngineContext);
  if (!engine) throw new Error('no engine');
  const subscribe = useCallback((f: () => void) => engine.subscribe(f), [engine]);
  useSyncExternalStore(subscribe, () => engine.version);
  return engine;
}

// --- toasts ------------------------------------------------------------------------------

type Toast = { id: number; text: string; kind: 'error' | 'info' };
const toastListeners = new Set<() => void>();
let toasts: Toast[] = [];
let toastSeq = 0;

export function toast(text: string, kind: 'error' | 'info' = 'info'): void {
  const item = { id: ++toastSeq, text, kind };
  toasts = [...toasts, item];
  toastListeners.forEach((f) => f());
  setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== item.id);
    toastListeners.forEach((f) => f());
  }, kind === 'error' ? 8000 : 3500);
}

/** Shows what the core refused, in the interface's language (by the core's codes). */
export function toastError(e: unknown): void {
  toast(`${t('error.prefix')} ${errorText(e)}`, 'error');
}

function subscribeToasts(f: () => void): () => void {
  toastListeners.add(f);
  return () => void toastListeners.delete(f);
}

/** The toasts on screen (a toast raised before the first paint is shown too; see useEngine). */
export function Toasts() {
  const list = useSyncExternalStore(subscribeToasts, () => toasts);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((x) => (
        <div key={x.id} class={`toast toast-${x.kind}`} data-testid={`toast-${x.kind}`}>
          {x.text}
        </div>
      ))}
    </div>
  );
}

// --- confirm -----------------------------------------------------------------------------

type ConfirmRequest = {
  title: string;
  body: string;
  ok: string;
  resolve: (ok: boolean) => void;
};
let showConfirm: ((r: ConfirmRequest | null) => void) | null = null;

/** Asks the user; resolves true when they confirm. */
export function confirmDialog(title: string, body: string, ok: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!showConfirm) return resolve(window.confirm(`${title}\n\n${body}`));
    showConfirm({ title, body, ok, resolve });
  });
}

export function ConfirmHost() {
  const [req, setReq] = useState<ConfirmRequest | null>(null);
  useEffect(() => {
    showConfirm = setReq;
    return () => {
      showConfirm = null;
    };
  }, []);
  if (!req) return null;
  const done = (ok: boolean) => {
    setReq(null);
    req.resolve(ok);
  };
  return (
    <div class="modal-backdrop" role="dialog" aria-modal="true" data-testid="confirm">
      <div class="modal">
        <h2>{req.title}</h2>
        <p>{req.body}</p>
        <div class="row end">
          <button type="button" class="btn" onClick={() => done(false)} data-testid="confirm-cancel">
            {t('common.cancel')}
          </button>
          <button type="button" class="btn btn-primary" onClick={() => done(true)} data-testid="confirm-ok">
            {req.ok}
          </button>
        </div>
      </div>
    </div>
  );
}

/**
 * Before a sign-off or submission: when the record (or its photos) is not all on the
 * server, say so and ask.
 */
export async function confirmIfUnsynced(engine: SyncEngine, recordId: string, action: MessageKey): Promise<boolean> {
  const changes = engine.unsyncedOf(recordId);
  const photos = engine.photosPendingFor(recordId);
  const offline = engine.getStatus().socket !== 'joined';
  if (changes === 0 && photos === 0 && !offline) return true;
  const body = [
    changes > 0 ? t('warn.unsynced_changes', { n: changes }) : '',
    photos > 0 ? t('warn.unsynced_photos', { n: photos }) : '',
    offline ? t('warn.offline_now') : '',
    t('warn.will_sync_later'),
  ]
    .filter(Boolean)
    .join(' ');
  return confirmDialog(t('warn.unsynced_title'), body, t(action));
}

// --- small pieces -------------------------------------------------------------------------

export function Verdict({ verdict }: { verdict: string }) {
  const key = (['pass', 'fail', 'pending'].includes(verdict) ? `verdict.${verdict}` : 'verdict.pending') as MessageKey;
  return (
    <span class={`verdict verdict-${verdict || 'pending'}`} data-testid="verdict">
      {t(key)}
    </span>
  );
}

const STATUS_KEYS: Record<string, MessageKey> = {
  open: 'status.open',
  in_progress: 'status.in_progress',
  signed: 'status.signed',
  counting: 'status.counting',
  submitted: 'status.submitted',
  approved: 'status.approved',
  loading: 'status.loading',
  cleared: 'status.cleared',
  delivered: 'status.delivered',
  draft: 'status.draft',
  released: 'status.released',
};

export function statusLabel(status: string): string {
  const key = STATUS_KEYS[status];
  if (key) return t(key);
  // The statuses of the office's records (a PO, an approval, a packaging item).
  for (const kind of ['po_statuses', 'approval_statuses', 'packaging_statuses'] as const) {
    if (codesOf(kind).includes(status)) return codeLabel(kind, status);
  }
  return t('status.other', { value: status });
}

export function StatusChip({ status }: { status: string }) {
  return <span class={`chip status-${status}`}>{statusLabel(status)}</span>;
}

export function UnsyncedBadge({ id }: { id: string }) {
  const engine = useEngine();
  const n = engine.unsyncedOf(id);
  const p = engine.photosPendingFor(id);
  if (n === 0 && p === 0) return null;
  return (
    <span class="badge badge-unsynced" data-testid="unsynced-badge" title={t('sync.record_unsynced_hint', { n, p })}>
      {t('sync.record_unsynced')}
    </span>
  );
}

/** −1 / count / +1, big enough for gloves. */
export function Tally({
  value,
  onDelta,
  disabled,
  label,
  testid,
}: {
  value: number;
  onDelta: (d: number) => void;
  disabled?: boolean;
  label: string;
  testid?: string;
}) {
  return (
    <div class="tally" role="group" aria-label={label} data-testid={testid}>
      <button
        type="button"
        class="btn tally-btn"
        disabled={disabled || value <= 0}
        onClick={() => onDelta(-1)}
        aria-label={`${label} −1`}
        data-testid={testid ? `${testid}-minus` : undefined}
      >
        −1
      </button>
      <span class="tally-value" data-testid={testid ? `${testid}-value` : undefined}>
        {value}
      </span>
      <button
        type="button"
        class="btn tally-btn btn-primary"
        disabled={disabled}
        onClick={() => onDelta(1)}
        aria-label={`${label} +1`}
        data-testid={testid ? `${testid}-plus` : undefined}
      >
        +1
      </button>
    </div>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={id}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

// --- photos -----------------------------------------------------------------------------

/** The PhotoRef the record stores for a photo (by/at are set by the core from the edit). */
export interface PhotoRef {
  sha256: string;
  mime: string;
  bytes: number;
  by?: string;
  at_ms?: number;
  caption?: string;
}

/** Downscales, hashes and keeps a picked photo; returns the ref to store in the record. */
export async function takePhoto(engine: SyncEngine, recordId: string, file: Blob): Promise<PhotoRef> {
  let blob: Blob;
  try {
    blob = await downscale(file);
  } catch {
    blob = file; // not decodable here: keep the original bytes
  }
  const data = await blob.arrayBuffer();
  const sha256 = await sha256Hex(data);
  const mime = blob.type || 'image/jpeg';
  await engine.addPhoto(recordId, sha256, mime, data);
  return { sha256, mime, bytes: data.byteLength, by: engine.user, at_ms: Date.now(), caption: '' };
}

/** A camera glyph (an SVG: no emoji font needed). */
export function CameraIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
      <path
        fill="currentColor"
        d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 5a4.5 4.5 0 1 1 0 9 4.5 4.5 0 0 1 0-9zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z"
      />
    </svg>
  );
}

/** A camera button: `capture=environment` opens the back camera on a tablet. */
export function PhotoButton({
  onPhoto,
  disabled,
  testid,
  label,
}: {
  onPhoto: (file: File) => Promise<void>;
  disabled?: boolean;
  testid?: string;
  label?: string;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <label class={`btn btn-photo ${disabled || busy ? 'disabled' : ''}`} data-testid={testid}>
      <CameraIcon /> {busy ? t('photo.processing') : (label ?? t('photo.add'))}
      <input
        type="file"
        accept="image/*"
        capture="environment"
        class="visually-hidden"
        disabled={disabled || busy}
        data-testid={testid ? `${testid}-input` : undefined}
        onChange={async (e) => {
          const input = e.currentTarget as HTMLInputElement;
          const files = Array.from(input.files ?? []);
          input.value = '';
          if (files.length === 0) return;
          setBusy(true);
          try {
            for (const f of files) await onPhoto(f);
          } catch (err) {
            toastError(err);
          } finally {
            setBusy(false);
          }
        }}
      />
    </label>
  );
}

const urlCache = new Map<string, string>();

/** An object URL for a photo: from IndexedDB when taken here, else from the server. */
function usePhotoUrl(sha256: string, mime: string): string | null | 'missing' {
  const engine = useEngine();
  const [url, setUrl] = useState<string | null | 'missing'>(urlCache.get(sha256) ?? null);
  const online = engine.getStatus().socket === 'joined';
  useEffect(() => {
    if (urlCache.has(sha256)) {
      setUrl(urlCache.get(sha256)!);
      return;
    }
    let alive = true;
    (async () => {
      const local = await engine.photoData(sha256);
      let blob: Blob | null = local ? new Blob([local.data], { type: local.mime || mime }) : null;
      if (!blob && online) {
        try {
          const r = await fetch(engine.blobUrl(sha256), { headers: engine.authHeader() });
          if (r.ok) blob = await r.blob();
        } catch {
          /* offline */
        }
      }
      if (!alive) return;
      if (blob) {
        const u = URL.createObjectURL(blob);
        urlCache.set(sha256, u);
        setUrl(u);
      } else setUrl('missing');
    })();
    return () => {
      alive = false;
    };
  }, [sha256, online]);
  return url;
}

export function PhotoThumb({ photo, onOpen }: { photo: PhotoRef; onOpen?: (url: string) => void }) {
  const engine = useEngine();
  const url = usePhotoUrl(photo.sha256, photo.mime);
  const info = engine.photoInfo(photo.sha256);
  const state = info ? info.state : 'remote';
  const stateKey: MessageKey =
    state === 'uploaded' || state === 'remote'
      ? 'photo.state_uploaded'
      : state === 'uploading'
        ? 'photo.state_uploading'
        : state === 'failed'
          ? 'photo.state_failed'
          : 'photo.state_pending';
  const pct = info && info.bytes > 0 ? Math.round((100 * info.uploaded_bytes) / info.bytes) : 0;
  return (
    <figure class={`thumb thumb-${state}`} data-testid="photo-thumb" data-sha256={photo.sha256} data-state={state}>
      {url && url !== 'missing' ? (
        <img src={url} alt={t('photo.alt')} onClick={() => onOpen?.(url)} />
      ) : (
        <div class="thumb-missing">{url === 'missing' ? t('photo.not_here') : '…'}</div>
      )}
      <figcaption>
        {t(stateKey)}
        {state === 'uploading' ? ` ${pct}%` : ''}
      </figcaption>
    </figure>
  );
}

export function PhotoStrip({ photos }: { photos: Record<string, PhotoRef> | undefined }) {
  const [big, setBig] = useState<string | null>(null);
  const list = Object.values(photos ?? {});
  if (list.length === 0) return null;
  return (
    <div class="photo-strip">
      {list.map((p) => (
        <PhotoThumb key={p.sha256} photo={p} onOpen={setBig} />
      ))}
      {big && (
        <div class="modal-backdrop" onClick={() => setBig(null)}>
          <img class="photo-big" src={big} alt={t('photo.alt')} />
        </div>
      )}
    </div>
  );
}

// --- signature ----------------------------------------------------------------------------

export interface SignaturePadHandle {
  isEmpty(): boolean;
  toPng(): Promise<Blob | null>;
  clear(): void;
}

/** A canvas to sign on with a finger or stylus; exports a PNG. */
export function SignaturePad({ onReady }: { onReady: (h: SignaturePadHandle) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawn = useRef(false);
  const last = useRef<{ x: number; y: number } | null>(null);

  const pos = (e: PointerEvent) => {
    const c = canvas.current!;
    const r = c.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * c.width) / r.width, y: ((e.clientY - r.top) * c.height) / r.height };
  };
  const clear = useCallback(() => {
    const c = canvas.current;
    if (!c) return;
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
    drawn.current = false;
  }, []);

  useEffect(() => {
    clear();
    onReady({
      isEmpty: () => !drawn.current,
      clear,
      toPng: () =>
        new Promise((resolve) => {
          const c = canvas.current;
          if (!c || !drawn.current) return resolve(null);
          c.toBlob((b) => resolve(b), 'image/png');
        }),
    });
  }, []);

  return (
    <div class="signature">
      <canvas
        ref={canvas}
        width={720}
        height={240}
        data-testid="signature-pad"
        onPointerDown={(e) => {
          (e.currentTarget as HTMLCanvasElement).setPointerCapture(e.pointerId);
          last.current = pos(e);
        }}
        onPointerMove={(e) => {
          if (!last.current) return;
          const ctx = canvas.current!.getContext('2d')!;
          const p = pos(e);
          ctx.strokeStyle = '#111';
          ctx.lineWidth = 4;
          ctx.lineCap = 'round';
          ctx.beginPath();
          ctx.moveTo(last.current.x, last.current.y);
          ctx.lineTo(p.x, p.y);
          ctx.stroke();
          last.current = p;
          drawn.current = true;
        }}
        onPointerUp={() => {
          last.current = null;
        }}
        onPointerCancel={() => {
          last.current = null;
        }}
      />
      <button type="button" class="btn" onClick={clear} data-testid="signature-clear">
        {t('sign.clear')}
      </button>
    </div>
  );
}

/** Runs an edit and shows the core's refusal as a toast. Returns whether it worked. */
export async function run(f: () => Promise<void>): Promise<boolean> {
  try {
    await f();
    return true;
  } catch (e) {
    toastError(e);
    return false;
  }
}
