// Message catalogues: every text the interface shows comes from here. zh-CN and en have
// the same keys (checked by the compiler through `Catalogue`, and by a unit test).

import { en } from './en';
import { zhCN } from './zh-CN';

export type MessageKey = keyof typeof en;
export type Catalogue = Record<MessageKey, string>;

export const catalogues: Record<Lang, Catalogue> = { 'zh-CN': zhCN, en };
export type Lang = 'zh-CN' | 'en';
export const LANGS: Lang[] = ['zh-CN', 'en'];

const LANG_KEY = 'gendan.lang';

/** zh-CN for a Chinese browser, en otherwise; a choice the user made wins. */
export function defaultLang(navLangs: readonly string[] = globalThis.navigator?.languages ?? []): Lang {
  const saved = globalThis.localStorage?.getItem(LANG_KEY);
  if (saved === 'zh-CN' || saved === 'en') return saved;
  for (const l of navLangs) {
    const low = l.toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

let current: Lang = defaultLang();
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  globalThis.localStorage?.setItem(LANG_KEY, l);
  if (globalThis.document) document.documentElement.lang = l;
  for (const f of listeners) f();
}

export function onLangChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** Marks a key with no text, so a missing string is visible (and caught by the e2e check). */
export const MISSING_MARK = '⟦';

/** The text for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const text = catalogues[current][key] ?? catalogues.en[key];
  if (!text) return `${MISSING_MARK}${key}⟧`;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** A date (ms since the epoch) in the current language; empty for 0. */
export function fmtDate(ms: number): string {
  if (!ms) return '';
  return new Intl.DateTimeFormat(current, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);
}

export function fmtDateTime(ms: number): string {
  if (!ms) return '';
  return new Intl.DateTimeFormat(current, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(ms);
}

export function fmtTime(ms: number): string {
  if (!ms) return '';
  return new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(ms);
}
