// The sync engine: drives the core's device sync peer (`WasmClient`) over the WebSocket,
// keeps every document in IndexedDB, and knows what the server has not acknowledged yet.
//
// Run loop (the core's contract, core/src/protocol/client.rs): when the socket opens call
// `connected`; feed every frame to `receive`; after a local edit call `sync`; after each of
// these send every frame `takeFrames` returns; when the socket closes call `disconnected`.
//
// Offline-first rules carried out here:
// - Every document's bytes are written to IndexedDB after it changes (local edits at once,
//   changes from the server batched), and loaded at start: the app works with no network.
// - The socket reconnects by itself with backoff; it does not try while the browser says
//   it is offline, and tries at once when it comes back.
// - A failed connection while online may be a refused token (401 at upgrade looks like any
//   failed connection to a page): `/api/v1/me` tells. Then work goes on offline and syncs
//   after the next login.
// - "Not yet synced" per document: the changes the server has not acknowledged. The live
//   sync state knows (`unsyncedChanges`); it starts afresh on every connection, so the heads
//   the server last acknowledged are kept too (`changesSince`) and survive restarts.

import { checkSession, syncUrl } from '../api';
import { codedError } from '../i18n/errors';
import { WasmClient, documentId, randomBytes16, toHex } from '../core';
import { blobStored, uploadBlob } from '../photos/upload';
import { backoffDelay } from './backoff';
import type { LocalStore, PhotoEntry, PhotoInfo, Session } from './store';

/** Changes from the server are written to IndexedDB this long after they arrive. */
export const SAVE_DEBOUNCE_MS = 250;
/** Failed photo uploads are tried again this often while connected. */
export const UPLOAD_RETRY_MS = 15_000;
/** A socket that has not joined within this long is given up and dialled again. */
export const CONNECT_TIMEOUT_MS = 15_000;
/**
 * A joined socket that has had changes waiting for an answer this long, with nothing
 * received meanwhile, is taken for dead (Wi-Fi gone without the connection closing) and
 * dialled again. The server answers every sync message, so silence means no link.
 */
export const STALL_MS = 20_000;

export type SocketState = 'offline' | 'connecting' | 'joined';

export interface SyncStatus {
  socket: SocketState;
  /** What the browser says about the network. */
  networkOnline: boolean;
  /** The server refused the session: log in again to sync (work goes on). */
  sessionExpired: boolean;
  /** When the device last had nothing left to send, ms since the epoch. */
  lastSyncedMs: number | null;
  /** Records with changes the server has not acknowledged. */
  unsyncedRecords: number;
  /** Photos (and signatures) not yet on the server. */
  photosPending: number;
  /** The last problem the server reported, if any. */
  error: string | null;
}

/** An index entry: what the user's work list shows of a record (core/src/summary.rs). */
export interface Summary {
  record_type: string;
  title: string;
  status: string;
  verdict: string;
  order_no: string;
  style_no: string;
  po_no: string;
  customer: string;
  factory: string;
  warehouse: string;
  assignees: string[];
  created_by: string;
  due_ms: number;
}

/** Minimal WebSocket surface the engine needs (the browser's, or a test double). */
export interface SocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface EngineOptions {
  store: LocalStore;
  session: Session;
  /** The server's origin, e.g. `http://127.0.0.1:8080`. */
  base: string;
  openSocket?: (url: string) => SocketLike;
  fetchImpl?: typeof fetch;
  networkOnline?: () => boolean;
  now?: () => number;
  random?: () => number;
}

const OPEN = 1;

type ClientEvent =
  | { kind: 'joined'; server: string }
  | { kind: 'changed'; doc: string }
  | { kind: 'unavailable'; doc: string }
  | { kind: 'error'; message: string };

function sameHeads(a: string[] | undefined, b: string[]): boolean {
  if (!a || a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((h) => s.has(h));
}

/** A new item id for a map key (`[A-Za-z0-9_.:-]{1,64}`), unique across devices. */
export function newItemId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${toHex(randomBytes16()).slice(0, 10)}`;
}

export class SyncEngine {
  readonly client: WasmClient;
  readonly actor: Uint8Array;
  session: Session;

  private readonly store: LocalStore;
  private readonly base: string;
  private readonly openSocket: (url: string) => SocketLike;
  private readonly fetchImpl: typeof fetch;
  private readonly networkOnline: () => boolean;
  private readonly now: () => number;
  private readonly random: () => number;

  private ws: SocketLike | null = null;
  private joinedOnce = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private uploadTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private connectStartedMs = 0;
  private lastReceivedMs = 0;
  private lastSentMs = 0;
  private stopped = false;
  private uploading = false;

  /** Unacknowledged changes per document (only documents with some are listed). */
  private readonly unsynced = new Map<string, number>();
  /** Heads the server acknowledged last, per document. */
  private readonly acked = new Map<string, string[]>();
  private ackedDirty = false;
  /** Documents to write to IndexedDB. */
  private readonly dirty = new Set<string>();
  private readonly unavailable = new Set<string>();
  private readonly photos = new Map<string, PhotoInfo>();
  private readonly listeners = new Set<() => void>();

  private status: SyncStatus;
  /** Bumped on every change the UI may want to show. */
  version = 0;

  private constructor(opts: EngineOptions, client: WasmClient, actor: Uint8Array) {
    this.store = opts.store;
    this.session = opts.session;
    this.base = opts.base;
    this.openSocket =
      opts.openSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    this.fetchImpl = opts.fetchImpl ?? ((...a) => fetch(...a));
    this.networkOnline = opts.networkOnline ?? (() => globalThis.navigator?.onLine ?? true);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.client = client;
    this.actor = actor;
    this.status = {
      socket: 'offline',
      networkOnline: this.networkOnline(),
      sessionExpired: opts.session.expires_ms > 0 && opts.session.expires_ms < this.now(),
      lastSyncedMs: null,
      unsyncedRecords: 0,
      photosPending: 0,
      error: null,
    };
  }

  /** Opens the engine on a user's local store: loads every document, counts what is unsynced. */
  static async open(opts: EngineOptions): Promise<SyncEngine> {
    const { store } = opts;
    let actor = await store.getMeta<Uint8Array>('actor');
    if (!(actor instanceof Uint8Array) || actor.length !== 16) {
      actor = randomBytes16();
      await store.putMeta('actor', actor);
    }
    let storageId = await store.getMeta<string>('storage_id');
    if (!storageId) {
      storageId = toHex(randomBytes16());
      await store.putMeta('storage_id', storageId);
    }
    const peerId = `device-${opts.session.user.username}-${toHex(randomBytes16()).slice(0, 12)}`;
    const client = new WasmClient(peerId, storageId);
    const engine = new SyncEngine(opts, client, actor);
    const acked = (await store.getMeta<Record<string, string[]>>('acked')) ?? {};
    for (const [id, heads] of Object.entries(acked)) engine.acked.set(id, heads);
    engine.status.lastSyncedMs = (await store.getMeta<number>('last_synced_ms')) ?? null;
    for (const { id, bytes } of await store.loadDocs()) {
      try {
        client.add(id, bytes);
      } catch (e) {
        console.error(`gendan: could not load document ${id}`, e);
      }
    }
    const indexId = opts.session.index_id;
    if (indexId && !client.docIds().includes(indexId)) client.add(indexId, new Uint8Array());
    engine.wantIndexed();
    for (const id of client.docIds()) engine.recount(id, false);
    for (const p of await store.photoInfos()) engine.photos.set(p.sha256, p);
    engine.refreshStatus();
    return engine;
  }

  // --- subscription ------------------------------------------------------------------------

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private bump(): void {
    this.version += 1;
    for (const f of this.listeners) f();
  }

  getStatus(): SyncStatus {
    return this.status;
  }

  private refreshStatus(): void {
    let photosPending = 0;
    for (const p of this.photos.values()) if (p.state !== 'uploaded') photosPending += 1;
    this.status = {
      ...this.status,
      networkOnline: this.networkOnline(),
      unsyncedRecords: this.unsynced.size,
      photosPending,
    };
  }

  // --- connection --------------------------------------------------------------------------

  /** Starts syncing (and keeps trying). */
  start(): void {
    this.stopped = false;
    this.watchdog ??= setInterval(() => this.checkLiveness(), 1_000);
    this.connect();
  }

  /** Gives up a socket that hangs while connecting, or that went silent. */
  private checkLiveness(): void {
    const ws = this.ws;
    if (!ws) return;
    const now = this.now();
    const hung = this.status.socket === 'connecting' && now - this.connectStartedMs > CONNECT_TIMEOUT_MS;
    // Only changes the server owes an answer to count: the last message of an exchange
    // may well go unanswered, and a refused document is never acknowledged.
    const owed = [...this.unsynced.keys()].some((id) => !this.unavailable.has(id));
    const stalled =
      this.status.socket === 'joined' &&
      owed &&
      this.lastSentMs > this.lastReceivedMs &&
      now - this.lastSentMs > STALL_MS;
    if (hung || stalled) {
      console.warn(`gendan: sync socket ${hung ? 'did not connect' : 'went silent'}; dialling again`);
      this.dropSocket();
      this.scheduleReconnect(this.joinedOnce);
    }
  }

  /** Closes the socket without waiting for its close event. */
  private dropSocket(): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
    try {
      ws.close(1000, 'dropped');
    } catch {
      /* already closed */
    }
    this.client.disconnected();
    this.status = { ...this.status, socket: 'offline' };
    void this.flushSaves();
    this.bump();
  }

  /** Stops syncing and writes what is pending. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.uploadTimer) clearTimeout(this.uploadTimer);
    this.reconnectTimer = null;
    this.uploadTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
      ws.close(1000, 'stopped');
      this.client.disconnected();
    }
    this.status = { ...this.status, socket: 'offline' };
    await this.flushSaves();
  }

  /** A new session after logging in again: sync resumes. */
  updateSession(s: Session): void {
    this.session = s;
    this.status = { ...this.status, sessionExpired: false, error: null };
    this.attempt = 0;
    this.bump();
    this.reconnectNow();
  }

  /** The browser says the network is back (or the app came to the front): try now. */
  reconnectNow(): void {
    this.status = { ...this.status, networkOnline: this.networkOnline() };
    if (this.ws || this.stopped) {
      this.bump();
      return;
    }
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempt = 0;
    this.connect();
  }

  /** The browser says the network is gone: drop the socket (it may linger otherwise). */
  wentOffline(): void {
    this.status = { ...this.status, networkOnline: false };
    this.dropSocket();
    this.status = { ...this.status, socket: 'offline' };
    this.bump();
  }

  /** Hooks the engine to the window's network and lifecycle events. */
  attach(win: Window): () => void {
    const online = () => this.reconnectNow();
    const offline = () => this.wentOffline();
    const visible = () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
      else void this.flushSaves();
    };
    const hide = () => void this.flushSaves();
    win.addEventListener('online', online);
    win.addEventListener('offline', offline);
    win.addEventListener('pagehide', hide);
    document.addEventListener('visibilitychange', visible);
    return () => {
      win.removeEventListener('online', online);
      win.removeEventListener('offline', offline);
      win.removeEventListener('pagehide', hide);
      document.removeEventListener('visibilitychange', visible);
    };
  }

  private connect(): void {
    if (this.stopped || this.ws || this.status.sessionExpired) return;
    if (!this.networkOnline()) {
      this.status = { ...this.status, socket: 'offline', networkOnline: false };
      this.bump();
      return; // the `online` event brings us back
    }
    let ws: SocketLike;
    try {
      ws = this.openSocket(syncUrl(this.base, this.session.token));
    } catch (e) {
      console.warn('gendan: could not open the sync socket', e);
      this.scheduleReconnect(false);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.joinedOnce = false;
    this.connectStartedMs = this.now();
    this.status = { ...this.status, socket: 'connecting', networkOnline: true };
    this.bump();
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.client.connected();
      this.flushFrames();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.onFrame(ev.data);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.client.disconnected();
      const wasJoined = this.joinedOnce;
      this.status = { ...this.status, socket: 'offline' };
      void this.flushSaves();
      this.bump();
      this.scheduleReconnect(wasJoined);
    };
  }

  private scheduleReconnect(wasJoined: boolean): void {
    if (this.stopped || this.reconnectTimer) return;
    if (wasJoined) this.attempt = 0;
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    const check = !wasJoined && this.networkOnline();
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = null;
      if (check) {
        // Refused at upgrade, or the server is down? Only `me` can tell.
        const verdict = await checkSession(this.base, this.session.token, this.fetchImpl);
        if (verdict === 'invalid') {
          this.status = { ...this.status, sessionExpired: true };
          this.bump();
          return;
        }
      }
      this.connect();
    }, delay);
  }

  private send(frame: Uint8Array): void {
    const ws = this.ws;
    if (ws && ws.readyState === OPEN) {
      ws.send(frame);
      if (this.lastSentMs <= this.lastReceivedMs) this.lastSentMs = this.now();
    }
  }

  private flushFrames(): void {
    for (const f of this.client.takeFrames()) this.send(f);
  }

  private onFrame(data: unknown): void {
    this.lastReceivedMs = this.now();
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : null;
    if (!bytes) return; // text frames are not part of the protocol
    let events: ClientEvent[];
    try {
      events = this.client.receive(bytes) as ClientEvent[];
    } catch (e) {
      console.error('gendan: bad frame from the server', e);
      this.status = { ...this.status, error: String(e) };
      this.flushFrames();
      this.bump();
      return;
    }
    let indexChanged = false;
    for (const ev of events) {
      switch (ev.kind) {
        case 'joined':
          this.joinedOnce = true;
          this.attempt = 0;
          this.status = { ...this.status, socket: 'joined', error: null };
          this.kickUploads();
          break;
        case 'changed':
          this.dirty.add(ev.doc);
          this.unavailable.delete(ev.doc);
          if (ev.doc === this.session.index_id) indexChanged = true;
          this.recount(ev.doc, true);
          break;
        case 'unavailable':
          this.unavailable.add(ev.doc);
          break;
        case 'error':
          this.status = { ...this.status, error: ev.message };
          break;
      }
    }
    if (indexChanged && this.wantIndexed()) this.client.sync();
    // An acknowledgement changes no heads: look again at what was pending.
    for (const id of [...this.unsynced.keys()]) this.recount(id, true);
    if (this.status.socket === 'joined' && this.unsynced.size === 0) {
      const t = this.now();
      this.status = { ...this.status, lastSyncedMs: t };
      void this.store.putMeta('last_synced_ms', t);
    }
    this.flushFrames();
    this.scheduleSave();
    this.refreshStatus();
    this.bump();
  }

  /** Asks for every record in the index the device does not hold yet. */
  private wantIndexed(): boolean {
    const indexId = this.session.index_id;
    if (!indexId) return false;
    const held = new Set(this.client.docIds());
    let added = false;
    for (const id of this.client.indexIds(indexId)) {
      if (!held.has(id)) {
        this.client.add(id, new Uint8Array());
        added = true;
      }
    }
    return added;
  }

  // --- unsynced bookkeeping ----------------------------------------------------------------

  /** Recomputes a document's unacknowledged changes; `live` when the sync state may know. */
  private recount(id: string, live: boolean): void {
    const joined = live && this.status.socket === 'joined';
    const acked = this.acked.get(id) ?? [];
    let n = this.client.changesSince(id, acked);
    if (joined && n > 0) {
      n = Math.min(n, this.client.unsyncedChanges(id));
    }
    if (joined && n === 0) {
      const heads = this.client.heads(id);
      if (heads.length > 0 && !sameHeads(this.acked.get(id), heads)) {
        this.acked.set(id, heads);
        this.ackedDirty = true;
      }
    }
    if (n > 0) this.unsynced.set(id, n);
    else this.unsynced.delete(id);
  }

  /** Unacknowledged changes of one record (0 when all is on the server). */
  unsyncedOf(id: string): number {
    return this.unsynced.get(id) ?? 0;
  }

  isUnavailable(id: string): boolean {
    return this.unavailable.has(id);
  }

  // --- persistence -------------------------------------------------------------------------

  private scheduleSave(): void {
    if (this.saveTimer || (this.dirty.size === 0 && !this.ackedDirty)) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.flushSaves();
    }, SAVE_DEBOUNCE_MS);
  }

  /** Writes every changed document (and the acknowledged heads) to IndexedDB now. */
  async flushSaves(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const ids = [...this.dirty];
    this.dirty.clear();
    const docs: Array<{ id: string; bytes: Uint8Array }> = [];
    for (const id of ids) {
      const bytes = this.client.save(id);
      if (bytes && bytes.length > 0) docs.push({ id, bytes });
    }
    await this.store.putDocs(docs);
    if (this.ackedDirty) {
      this.ackedDirty = false;
      await this.store.putMeta('acked', Object.fromEntries(this.acked));
    }
  }

  // --- records -----------------------------------------------------------------------------

  get user(): string {
    return this.session.user.username;
  }

  /** The index entries: record id → summary. */
  indexEntries(): Record<string, Summary> {
    const id = this.session.index_id;
    if (!id) return {};
    return this.client.indexEntries(id) as Record<string, Summary>;
  }

  /** Whether the record's content has arrived. */
  has(id: string): boolean {
    const r = this.client.record(id, this.actor);
    if (!r) return false;
    r.free();
    return true;
  }

  /** The record's view `{record, derived}` as this user sees it, or null if not here yet. */
  view<T = unknown>(id: string): T | null {
    const r = this.client.record(id, this.actor);
    if (!r) return null;
    try {
      return r.view(this.user, false) as T;
    } finally {
      r.free();
    }
  }

  /** The record's current heads (what a sign-off or report refers to). */
  heads(id: string): string[] {
    return this.client.heads(id);
  }

  /**
   * Applies one operation (`{"op": …}`, the core's serde form) as this user, now: into the
   * sync peer, out to the server when connected, into IndexedDB before it resolves.
   * Throws the core's message when the rules refuse it (nothing is changed then).
   */
  async edit(id: string, op: { op: string; [k: string]: unknown }): Promise<void> {
    const r = this.client.record(id, this.actor);
    if (!r) throw codedError('not_here', 'the record has not arrived on this device yet');
    try {
      r.apply(JSON.stringify(op), this.user, this.now());
      this.client.mergeRecord(id, r);
    } finally {
      r.free();
    }
    this.recount(id, true);
    this.client.sync();
    this.flushFrames();
    const bytes = this.client.save(id);
    if (bytes) await this.store.putDoc(id, bytes);
    this.refreshStatus();
    this.bump();
  }

  /** A fresh document id (for records created on the device). */
  static newDocumentId(): string {
    return documentId(randomBytes16());
  }

  // --- photos ------------------------------------------------------------------------------

  photoInfo(sha256: string): PhotoInfo | undefined {
    return this.photos.get(sha256);
  }

  photoData(sha256: string): Promise<PhotoEntry | undefined> {
    return this.store.getPhoto(sha256);
  }

  /** Photos of one record not yet on the server. */
  photosPendingFor(recordId: string): number {
    let n = 0;
    for (const p of this.photos.values()) if (p.record_id === recordId && p.state !== 'uploaded') n += 1;
    return n;
  }

  /** Keeps a photo on the device and queues it for upload. */
  async addPhoto(recordId: string, sha256: string, mime: string, data: ArrayBuffer): Promise<PhotoInfo> {
    const existing = this.photos.get(sha256);
    if (existing) return existing;
    const entry: PhotoEntry = {
      sha256,
      mime,
      bytes: data.byteLength,
      data,
      created_ms: this.now(),
      record_id: recordId,
      state: 'pending',
      uploaded_bytes: 0,
      attempts: 0,
    };
    await this.store.putPhoto(entry);
    const { data: _d, ...info } = entry;
    this.photos.set(sha256, info);
    this.refreshStatus();
    this.bump();
    this.kickUploads();
    return info;
  }

  private setPhoto(sha256: string, patch: Partial<PhotoInfo>): void {
    const p = this.photos.get(sha256);
    if (!p) return;
    this.photos.set(sha256, { ...p, ...patch });
    void this.store.updatePhoto(sha256, patch);
    this.refreshStatus();
    this.bump();
  }

  /** Uploads pending photos, one at a time, while connected. */
  kickUploads(): void {
    if (this.uploading || this.stopped) return;
    if (this.status.socket !== 'joined' || this.status.sessionExpired) return;
    const next = [...this.photos.values()]
      .filter((p) => p.state !== 'uploaded')
      .sort((a, b) => a.attempts - b.attempts || a.created_ms - b.created_ms)[0];
    if (!next) return;
    this.uploading = true;
    void this.uploadOne(next)
      .then((ok) => {
        this.uploading = false;
        if (ok) this.kickUploads();
        else if (!this.uploadTimer && !this.stopped) {
          this.uploadTimer = setTimeout(() => {
            this.uploadTimer = null;
            this.kickUploads();
          }, UPLOAD_RETRY_MS);
        }
      });
  }

  private async uploadOne(p: PhotoInfo): Promise<boolean> {
    const entry = await this.store.getPhoto(p.sha256);
    if (!entry) {
      this.photos.delete(p.sha256);
      return true;
    }
    this.setPhoto(p.sha256, { state: 'uploading' });
    try {
      await uploadBlob(
        { base: this.base, token: this.session.token, sha256: entry.sha256, mime: entry.mime, data: entry.data },
        (n) => this.setPhoto(p.sha256, { uploaded_bytes: n }),
        this.fetchImpl,
        p.attempts > 0 || p.uploaded_bytes > 0,
      );
      this.setPhoto(p.sha256, { state: 'uploaded', uploaded_bytes: entry.bytes, error: undefined });
      return true;
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 401) this.status = { ...this.status, sessionExpired: true };
      this.setPhoto(p.sha256, {
        state: status && status >= 400 && status < 500 && status !== 401 && status !== 429 ? 'failed' : 'pending',
        attempts: p.attempts + 1,
        error: e instanceof Error ? e.message : String(e),
      });
      return false;
    }
  }

  /** Whether the server has a photo (for photos taken on another device). */
  async photoOnServer(sha256: string, bytes: number): Promise<boolean> {
    try {
      return await blobStored({ base: this.base, token: this.session.token, sha256, bytes }, this.fetchImpl);
    } catch {
      return false;
    }
  }

  /** The URL of a photo held by the server (needs the token: fetch it, then use a blob URL). */
  blobUrl(sha256: string): string {
    return `${this.base}/api/v1/blobs/${sha256}`;
  }

  authHeader(): Record<string, string> {
    return { authorization: `Bearer ${this.session.token}` };
  }
}
