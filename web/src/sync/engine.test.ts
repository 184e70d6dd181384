// The sync engine with the real WASM core, IndexedDB from fake-indexeddb and a fake
// WebSocket: what it keeps, what it counts as unsynced, when it connects.

import 'fake-indexeddb/auto';

import { beforeAll, describe, expect, it, vi } from 'vitest';

import { WasmRecord, randomBytes16 } from '../core';
import { loadCoreForTests } from '../test/wasm';
import { CONNECT_TIMEOUT_MS, SyncEngine, newItemId, type SocketLike } from './engine';
import { LocalStore, type Session } from './store';

beforeAll(loadCoreForTests);

let dbSeq = 0;

function session(username: string, index_id: string | null = null): Session {
  return {
    token: 'tok',
    expires_ms: Date.now() + 3_600_000,
    user: { username, role: 'qc' },
    index_id,
    logged_in_ms: Date.now(),
  };
}

class FakeSocket implements SocketLike {
  static opened: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  sent: Uint8Array[] = [];
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  send(data: Uint8Array) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.onclose?.({});
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
}

/** A store holding one inspection created by the office (as a download would leave it). */
async function storeWithInspection(user: string): Promise<{ store: LocalStore; id: string }> {
  const store = await LocalStore.open(`${user}-${++dbSeq}`);
  const rec = WasmRecord.create(
    'inspection',
    JSON.stringify({ title: 'T', lot_size: 500, assignees: [user] }),
    randomBytes16(),
    'merch',
    1_000,
  );
  const id = SyncEngine.newDocumentId();
  await store.putDoc(id, rec.save());
  rec.free();
  return { store, id };
}

describe('SyncEngine offline', () => {
  it('keeps local edits in IndexedDB and counts them as unsynced across a restart', async () => {
    const { store, id } = await storeWithInspection('qc1');
    const opts = { store, session: session('qc1'), base: 'http://127.0.0.1:1', networkOnline: () => false };
    const e1 = await SyncEngine.open(opts);
    // A record received from the server with no acknowledged heads saved counts as unsynced
    // until the server confirms it: conservative, never the other way round.
    await e1.edit(id, { op: 'add_defect', id: newItemId('d'), class: 'major', description: 'open seam' });
    await e1.edit(id, { op: 'add_defect', id: newItemId('d'), class: 'minor', description: 'loose thread' });
    const before = e1.unsyncedOf(id);
    expect(before).toBeGreaterThanOrEqual(2);
    expect(e1.getStatus().unsyncedRecords).toBe(1);
    await e1.stop();

    const e2 = await SyncEngine.open(opts);
    const v = e2.view<{ record: { defects: Record<string, { description: string }> } }>(id)!;
    expect(Object.values(v.record.defects).map((d) => d.description).sort()).toEqual(['loose thread', 'open seam']);
    expect(e2.unsyncedOf(id)).toBe(before);
    expect(e2.getStatus().unsyncedRecords).toBe(1);
    await e2.stop();
  });

  it('counts only the changes after the heads the server acknowledged', async () => {
    const { store, id } = await storeWithInspection('qc2');
    const opts = { store, session: session('qc2'), base: 'http://127.0.0.1:1', networkOnline: () => false };
    const e1 = await SyncEngine.open(opts);
    // As if the server had acknowledged the record as downloaded.
    await store.putMeta('acked', { [id]: e1.heads(id) });
    await e1.stop();
    const e2 = await SyncEngine.open(opts);
    expect(e2.unsyncedOf(id)).toBe(0);
    await e2.edit(id, { op: 'set_check', item: 'packaging', result: 'pass', note: '' });
    expect(e2.unsyncedOf(id)).toBe(1);
    await e2.stop();
  });

  it('refuses an edit the rules refuse, changing nothing', async () => {
    const { store, id } = await storeWithInspection('qc3');
    const e = await SyncEngine.open({ store, session: session('qc3'), base: 'http://x', networkOnline: () => false });
    const heads = e.heads(id);
    await expect(e.edit(id, { op: 'add_defect', id: 'd1', class: 'major', description: '   ' })).rejects.toThrow(/description/);
    expect(e.heads(id)).toEqual(heads);
    await e.stop();
  });

  it('keeps photos for upload and counts them', async () => {
    const { store, id } = await storeWithInspection('qc4');
    const e = await SyncEngine.open({ store, session: session('qc4'), base: 'http://x', networkOnline: () => false });
    await e.addPhoto(id, 'ab'.repeat(32), 'image/jpeg', new Uint8Array([1, 2, 3]).buffer);
    expect(e.getStatus().photosPending).toBe(1);
    expect(e.photosPendingFor(id)).toBe(1);
    await e.stop();
    const again = await SyncEngine.open({ store, session: session('qc4'), base: 'http://x', networkOnline: () => false });
    expect(again.getStatus().photosPending).toBe(1);
    expect((await again.photoData('ab'.repeat(32)))?.bytes).toBe(3);
    await again.stop();
  });
});

describe('SyncEngine connection', () => {
  it('does not dial while the browser is offline, and says join when the socket opens', async () => {
    const { store } = await storeWithInspection('clerk1');
    let online = false;
    FakeSocket.opened = [];
    const e = await SyncEngine.open({
      store,
      session: session('clerk1'),
      base: 'https://gendan.example',
      networkOnline: () => online,
      openSocket: (url) => new FakeSocket(url),
    });
    e.start();
    expect(FakeSocket.opened).toHaveLength(0);
    expect(e.getStatus().socket).toBe('offline');
    online = true;
    e.reconnectNow();
    expect(FakeSocket.opened).toHaveLength(1);
    const ws = FakeSocket.opened[0];
    expect(ws.url).toBe('wss://gendan.example/sync?token=tok');
    expect(ws.binaryType).toBe('arraybuffer');
    expect(e.getStatus().socket).toBe('connecting');
    ws.open();
    expect(ws.sent.length).toBe(1); // the join message
    e.wentOffline();
    expect(e.getStatus().socket).toBe('offline');
    await e.stop();
  });

  it('stops dialing and asks for a new login when the server refuses the token', async () => {
    const { store } = await storeWithInspection('dock1');
    FakeSocket.opened = [];
    const calls: string[] = [];
    const e = await SyncEngine.open({
      store,
      session: session('dock1'),
      base: 'http://127.0.0.1:9',
      networkOnline: () => true,
      random: () => 0, // shortest backoff (500 ms)
      openSocket: (url) => {
        const s = new FakeSocket(url);
        queueMicrotask(() => s.close()); // refused at upgrade: closes before it opens
        return s;
      },
      fetchImpl: (async (url: RequestInfo | URL) => {
        calls.push(String(url));
        return new Response('{"error":"session expired"}', { status: 401 });
      }) as typeof fetch,
    });
    e.start();
    await new Promise((r) => setTimeout(r, 900));
    expect(calls).toEqual(['http://127.0.0.1:9/api/v1/me']);
    expect(e.getStatus().sessionExpired).toBe(true);
    expect(FakeSocket.opened).toHaveLength(1);
    // After a new login, syncing resumes.
    e.updateSession({ ...session('dock1'), token: 'new' });
    expect(FakeSocket.opened).toHaveLength(2);
    expect(FakeSocket.opened[1].url).toContain('token=new');
    await e.stop();
  });
});

describe('SyncEngine liveness', () => {
  it('gives up a socket that never opens and dials again', async () => {
    const { store, id } = await storeWithInspection('qc9');
    let now = 1_000_000;
    FakeSocket.opened = [];
    const e = await SyncEngine.open({
      store,
      session: session('qc9'),
      base: 'http://x',
      networkOnline: () => true,
      now: () => now,
      random: () => 0,
      openSocket: (url) => new FakeSocket(url),
      fetchImpl: (async () => new Response('{}', { status: 200 })) as unknown as typeof fetch,
    });
    vi.useFakeTimers();
    try {
      e.start();
      expect(FakeSocket.opened).toHaveLength(1);
      // Never opens: given up after CONNECT_TIMEOUT_MS, dialled again after the backoff.
      now += CONNECT_TIMEOUT_MS + 1;
      await vi.advanceTimersByTimeAsync(1_000);
      expect(e.getStatus().socket).toBe('offline');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(FakeSocket.opened).toHaveLength(2);
    } finally {
      vi.useRealTimers();
      await e.stop();
    }
    expect(id).toBeTruthy();
  });
});
