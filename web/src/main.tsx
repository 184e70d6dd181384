// Entry point: register the service worker (the app works offline after one visit), load
// the WASM core, open the device store, render.

import { render } from 'preact';
import { registerSW } from 'virtual:pwa-register';

import { loadCore } from './core';
import { t } from './i18n';
import { DeviceStore } from './sync/store';
import { App } from './ui/app';
import './styles.css';

registerSW({ immediate: true });

async function main() {
  const root = document.getElementById('app')!;
  try {
    await loadCore();
    const device = await DeviceStore.open();
    render(<App device={device} />, root);
  } catch (e) {
    console.error(e);
    root.textContent = `${t('app.start_failed')} ${e instanceof Error ? e.message : String(e)}`;
  }
}

void main();
