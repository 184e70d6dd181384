// Labels of the codes the core and the server produce (sample rounds, milestones, late
// reasons, payment terms, gate states, approval chains and roles, …) in the interface's
// language. The list of codes is `codes.json`, written from the core by the server
// (`gendan_server::labels`, checked by `cargo test -p gendan-server --test office`); a unit
// test checks that every code in it has a label in both catalogues. An unknown code (a newer
// server) is shown as it is, never hidden.

import codes from './codes.json';
import { catalogues, t, type MessageKey } from './index';

/** The kinds of codes with labels (`rest_errors` are messages, see errors.ts). */
export type CodeKind = Exclude<keyof typeof codes, 'rest_errors'>;

/** Every code of `kind` the core knows, in the core's order. */
export function codesOf(kind: CodeKind): readonly string[] {
  return codes[kind];
}

/** Whether the catalogues have `key`. */
export function hasKey(key: string): key is MessageKey {
  return key in catalogues.en;
}

/** The catalogue key of a code's label. */
export function labelKey(kind: CodeKind, code: string): string {
  return `code.${kind}.${code}`;
}

/** A code in words; the code itself when it has no label (and empty for an empty code). */
export function codeLabel(kind: CodeKind, code: string | null | undefined): string {
  if (!code) return '';
  const key = labelKey(kind, code);
  return hasKey(key) ? t(key) : code;
}

/** Select options of every code of `kind`: value and label. */
export function codeOptions(kind: CodeKind): [string, string][] {
  return codesOf(kind).map((c) => [c, codeLabel(kind, c)]);
}

/** The text of `key` when the catalogues have it, else `fallback`. */
export function tOr(key: string, fallback: string, params?: Record<string, string | number>): string {
  return hasKey(key) ? t(key, params) : fallback;
}
