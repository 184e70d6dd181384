import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { VitePWA } from 'vite-plugin-pwa';

// The Gendan server (`gendan serve`) serves the built app from web/dist at `/`, next to
// `/api/v1` and `/sync`; `npm run dev` proxies those to a server on 127.0.0.1:8080.
const SERVER = process.env.GENDAN_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [
    preact(),
    VitePWA({
      registerType: 'autoUpdate',
      // main.tsx registers the service worker itself (virtual:pwa-register).
      injectRegister: null,
      includeAssets: ['icons/*.png'],
      manifest: {
        id: '/',
        name: 'Gendan 跟单',
        short_name: 'Gendan',
        description: 'Offline inspections, stock counts and shipment checks',
        lang: 'zh-CN',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        background_color: '#f4f6f8',
        theme_color: '#0b4f6c',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // The whole app: shell, the WASM core, icons (and fonts, should any be added).
        globPatterns: ['**/*.{js,css,html,wasm,png,svg,ico,woff,woff2,webmanifest}'],
        // The WASM core is ~2.3 MB before compression: precache it too.
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/sync/, /^\/healthz/, /^\/metrics/],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/api': SERVER,
      '/sync': { target: SERVER.replace(/^http/, 'ws'), ws: true },
    },
  },
});
