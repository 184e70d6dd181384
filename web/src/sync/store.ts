// What the device keeps in IndexedDB (DESIGN §6): every document's bytes, sync
// bookkeeping, photos waiting to upload, and the session.
//
// - `gendan-device`: the session of the user logged in on this device (token, user,
//   index id), kept for offline use.
// - `gendan-user-<username>`: that user's documents, photos and sync state. One database per
//   user, so logging in as someone else never mixes or drops anyone's unsynced work.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export interface User {
  username: string;
  role: string;
  display_name?: string | null;
  factory?: string | null;
  warehouse?: string | null;
}

export interface Session {
  token: string;
  expires_ms: number;
  user: User;
  /** The user's index document (none for office roles). */
  index_id: string | null;
  logged_in_ms: number;
}

export type PhotoState = 'pending' | 'uploading' | 'uploaded' | 'failed';

export interface PhotoEntry {
  sha256: string;
  mime: string;
  bytes: number;
  /** The (downscaled) image. */
  data: ArrayBuffer;
  created_ms: number;
  /** The record that references it. */
  record_id: string;
  state: PhotoState;
  /** Bytes the server has confirmed so far (resumable upload). */
  uploaded_bytes: number;
  attempts: number;
  error?: string;
}

/** Photo metadata without the bytes (what lists and badges need). */
export type PhotoInfo = Omit<PhotoEntry, 'data'>;

interface UserSchema extends DBSchema {
  docs: { key: string; value: { id: string; bytes: Uint8Array; saved_ms: number } };
  meta: { key: string; value: unknown };
  photos: { key: string; value: PhotoEntry; indexes: { by_state: string } };
}

interface DeviceSchema extends DBSchema {
  kv: { key: string; value: unknown };
}

const DEVICE_DB = 'gendan-device';
const USER_DB_VERSION = 1;

export function userDbName(username: string): string {
  return `gendan-user-${username}`;
}

/** The device-wide store: the session. */
export class DeviceStore {
  private constructor(private db: IDBPDatabase<DeviceSchema>) {}

  static async open(): Promise<DeviceStore> {
    const db = await openDB<DeviceSchema>(DEVICE_DB, 1, {
      upgrade(d) {
        d.createObjectStore('kv');
      },
    });
    return new DeviceStore(db);
  }

  async session(): Promise<Session | undefined> {
    return (await this.db.get('kv', 'session')) as Session | undefined;
  }

  async setSession(s: Session): Promise<void> {
    await this.db.put('kv', s, 'session');
  }

  /** Forgets the token (the user's documents stay in their own database). */
  async clearSession(): Promise<void> {
    await this.db.delete('kv', 'session');
  }

  close(): void {
    this.db.close();
  }
}

/** One user's documents, photos and sync state on this device. */
export class LocalStore {
  private constructor(private db: IDBPDatabase<UserSchema>) {}

  static async open(username: string): Promise<LocalStore> {
    const db = await openDB<UserSchema>(userDbName(username), USER_DB_VERSION, {
      upgrade(d) {
        d.createObjectStore('docs', { keyPath: 'id' });
        d.createObjectStore('meta');
        const photos = d.createObjectStore('photos', { keyPath: 'sha256' });
        photos.createIndex('by_state', 'state');
      },
    });
    return new LocalStore(db);
  }

  close(): void {
    this.db.close();
  }

  // --- documents -------------------------------------------------------------------------

  async loadDocs(): Promise<Array<{ id: string; bytes: Uint8Array }>> {
    const all = await this.db.getAll('docs');
    return all.map((d) => ({ id: d.id, bytes: d.bytes }));
  }

  async putDoc(id: string, bytes: Uint8Array): Promise<void> {
    await this.db.put('docs', { id, bytes, saved_ms: Date.now() });
  }

  /** Several documents in one transaction. */
  async putDocs(docs: Array<{ id: string; bytes: Uint8Array }>): Promise<void> {
    if (docs.length === 0) return;
    const tx = this.db.transaction('docs', 'readwrite');
    const now = Date.now();
    await Promise.all([...docs.map((d) => tx.store.put({ id: d.id, bytes: d.bytes, saved_ms: now })), tx.done]);
  }

  // --- small values ----------------------------------------------------------------------

  async getMeta<T>(key: string): Promise<T | undefined> {
    return (await this.db.get('meta', key)) as T | undefined;
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    await this.db.put('meta', value, key);
  }

  // --- photos ----------------------------------------------------------------------------

  async putPhoto(p: PhotoEntry): Promise<void> {
    const existing = await this.db.get('photos', p.sha256);
    // The same picture twice is one photo; never downgrade an uploaded one.
    if (existing && existing.state === 'uploaded') return;
    await this.db.put('photos', p);
  }

  async getPhoto(sha256: string): Promise<PhotoEntry | undefined> {
    return this.db.get('photos', sha256);
  }

  async updatePhoto(sha256: string, patch: Partial<Omit<PhotoEntry, 'sha256' | 'data'>>): Promise<void> {
    const tx = this.db.transaction('photos', 'readwrite');
    const p = await tx.store.get(sha256);
    if (p) await tx.store.put({ ...p, ...patch });
    await tx.done;
  }

  /** Metadata of every photo (no bytes). */
  async photoInfos(): Promise<PhotoInfo[]> {
    const out: PhotoInfo[] = [];
    let cursor = await this.db.transaction('photos').store.openCursor();
    while (cursor) {
      const { data: _data, ...info } = cursor.value;
      out.push(info);
      cursor = await cursor.continue();
    }
    return out;
  }

  /** Photos not yet confirmed on the server. */
  async photosToUpload(): Promise<PhotoInfo[]> {
    return (await this.photoInfos()).filter((p) => p.state !== 'uploaded');
  }
}
