// @vitest-environment happy-dom
//
// Components that follow the sync engine (or the toasts) must not miss a change reported
// between their first render and their subscription, which happens in an effect after the
// paint. In the field that was a status bar left on "connecting" after the socket joined,
// until the next change came (e2e: `waitSynced` timed out 1 run in 12–20).

import { h, render, type ComponentChild } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';

import type { SyncEngine, SyncStatus } from '../sync/engine';
import { EngineContext, Toasts, toast } from './common';
import { StatusBar } from './status';

/** The part of the engine the status bar reads, with a way to report a change. */
class FakeEngine {
  version = 0;
  private listeners = new Set<() => void>();
  private status: SyncStatus = {
    socket: 'connecting',
    networkOnline: true,
    sessionExpired: false,
    lastSyncedMs: null,
    unsyncedRecords: 0,
    photosPending: 0,
    error: null,
  };
  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }
  getStatus(): SyncStatus {
    return this.status;
  }
  subscribers(): number {
    return this.listeners.size;
  }
  change(patch: Partial<SyncStatus>): void {
    this.status = { ...this.status, ...patch };
    this.version += 1;
    for (const f of this.listeners) f();
  }
}

async function until(f: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let root: HTMLElement | null = null;

function mount(vnode: ComponentChild): HTMLElement {
  root = document.createElement('div');
  document.body.append(root);
  render(vnode, root);
  return root;
}

afterEach(() => {
  if (root) render(null, root);
  root?.remove();
  root = null;
});

describe('the status bar', () => {
  it('shows a change reported between its first render and its subscription', async () => {
    const engine = new FakeEngine();
    const el = mount(
      h(EngineContext.Provider, {
        value: engine as unknown as SyncEngine,
        children: h(StatusBar, { onRelogin() {} }),
      }),
    );
    const socket = () => el.querySelector('[data-testid=statusbar]')?.getAttribute('data-socket');
    expect(socket()).toBe('connecting');
    // Rendered, not yet subscribed: this change reaches no listener.
    expect(engine.subscribers()).toBe(0);
    engine.change({ socket: 'joined', lastSyncedMs: Date.now() });
    await until(() => engine.subscribers() === 1);
    await until(() => socket() === 'joined');

    // And once subscribed, every later change shows.
    engine.change({ socket: 'offline', unsyncedRecords: 2 });
    await until(() => socket() === 'offline');
    expect(el.querySelector('[data-testid=unsynced-records]')?.getAttribute('data-count')).toBe('2');
  });
});

describe('the toasts', () => {
  it('show a toast raised before they subscribed', async () => {
    const el = mount(h(Toasts, {}));
    toast('saved before the first paint');
    await until(() => (el.textContent ?? '').includes('saved before the first paint'));
  });
});
