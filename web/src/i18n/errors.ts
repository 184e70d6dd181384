// The core's refusals in the interface's language. The WASM bindings throw an `Error` whose
// message is English, with a stable `code` for the kind of refusal and, for invalid input,
// `problems` that each carry a `code` and the values the message names (`params`). Known
// codes get a catalogue message; an unknown one gets a generic catalogue message with the
// core's own words as the detail, so nothing the core says is ever hidden.

import { t, type MessageKey } from './index';
import { codeLabel, hasKey, tOr } from './labels';
import { slotLabel, slotOfProblem, titleCodes, titlesText } from './titles';

/** One problem the core found (`gendan_core::common::Problem`). */
export interface CoreProblem {
  field: string;
  message: string;
  code?: string;
  params?: Record<string, string>;
}

/** What the WASM bindings throw; a REST `ApiError` has the same shape plus `params`. */
export interface CoreError {
  message: string;
  code?: string;
  problems?: CoreProblem[];
  params?: Record<string, string>;
}

const PROBLEM_KEYS: Record<string, MessageKey> = {
  required: 'err.required',
  not_set: 'err.not_set',
  text_too_long: 'err.text_too_long',
  delta_zero: 'err.delta_zero',
  below_zero: 'err.below_zero',
  too_many: 'err.too_many',
  out_of_range: 'err.out_of_range',
  not_found: 'err.not_found',
  mark_photo_required: 'err.mark_photo_required',
  unknown_carton: 'err.unknown_carton',
  ambiguous_carton: 'err.ambiguous_carton',
  not_whole_number: 'err.not_whole_number',
  lot_size_too_small: 'err.lot_size_too_small',
  lot_size_too_large: 'err.lot_size_too_large',
  aql_unknown_level: 'err.aql_unknown_level',
  aql_unknown_value: 'err.aql_unknown_value',
  aql_unknown_code_letter: 'err.aql_unknown_code_letter',
  aql_no_class_inspected: 'err.aql_no_class_inspected',
  // Why an edit is not allowed in the record's state (`RecordError::NotAllowed`).
  'record.signed': 'err.record_signed',
  'record.not_allowed.loading_signed': 'err.record_loading_signed',
  'record.not_allowed.approved': 'err.record_approved',
  'record.not_allowed.released': 'err.record_released',
  'record.not_allowed.signed_by_sales': 'err.record_signed_by_sales',
  'record.not_allowed.packaging_not_sent': 'err.record_packaging_not_sent',
  'record.not_allowed.no_operations': 'err.record_no_operations',
  'record.not_allowed.not_created_this_way': 'err.record_not_created_this_way',
  // Sign-offs made by the job title their slot needs (`access::check_sign_offs`).
  'sign_off.title_required': 'err.sign_off_title_required',
  'sign_off.not_own': 'err.sign_off_not_own',
  'sign_off.removed': 'err.sign_off_removed',
  'deposit.finance_only': 'err.deposit_finance_only',
  'po.correction_by_sales': 'err.po_correction_by_sales',
  bad_department: 'err.bad_department',
};

const KIND_KEYS: Record<string, MessageKey> = {
  invalid: 'err.kind_invalid',
  not_allowed: 'err.kind_not_allowed',
  wrong_type: 'err.kind_wrong_type',
  no_type: 'err.kind_no_type',
  schema_too_new: 'err.kind_schema_too_new',
  too_large: 'err.kind_too_large',
  malformed: 'err.kind_malformed',
  document: 'err.kind_document',
  unreadable: 'err.kind_unreadable',
  unwritable: 'err.kind_unwritable',
  bad_operation: 'err.kind_bad_operation',
  not_here: 'err.kind_not_here',
};

/** Field names by the last part of the core's path (`defects.d1.qty` → `qty`). */
const FIELD_KEYS: Record<string, MessageKey> = {
  lot_size: 'errfield.lot_size',
  level: 'errfield.level',
  critical: 'errfield.critical',
  major: 'errfield.major',
  minor: 'errfield.minor',
  reason: 'errfield.reason',
  name: 'errfield.name',
  container_no: 'errfield.container_no',
  seal_no: 'errfield.seal_no',
  description: 'errfield.description',
  qty: 'errfield.qty',
  loaded: 'errfield.loaded',
  count: 'errfield.count',
  code: 'errfield.code',
  note: 'errfield.note',
  value: 'errfield.value',
  mark_verified: 'errfield.mark_verified',
  title: 'errfield.title',
  remarks: 'errfield.remarks',
  department: 'errfield.department',
};

/** A field path of the core in words. */
export function fieldLabel(path: string): string {
  const last = path.split('.').pop() ?? path;
  const key = FIELD_KEYS[last];
  return key ? t(key) : t('errfield.other', { path });
}

/**
 * The values a sign-off problem names, in words: the slot (from the problem's path and its
 * `slot` param), the titles it needs (joined by "or") and those the writer holds.
 */
function signOffParams(p: CoreProblem): Record<string, string> {
  const params = p.params ?? {};
  const out: Record<string, string> = { ...params };
  const slot = slotOfProblem(p.field, params.slot);
  if (slot) out.slot = slotLabel(slot);
  if ('titles' in params) out.titles = titlesText(titleCodes(params.titles));
  if ('held' in params) out.held = titlesText(titleCodes(params.held), 'and');
  return out;
}

/** One problem in words: its code's message, else the generic one with the core's words. */
export function problemText(p: CoreProblem): string {
  let key = p.code ? PROBLEM_KEYS[p.code] : undefined;
  const field = fieldLabel(p.field);
  if (p.code?.startsWith('sign_off.') || p.code === 'deposit.finance_only' || p.code === 'po.correction_by_sales') {
    // A slot nobody may sign (an unknown key) names no titles.
    if (p.code === 'sign_off.title_required' && titleCodes(p.params?.titles).length === 0) key = 'err.sign_off_unknown_slot';
    if (key) return t(key, { ...signOffParams(p), field });
  }
  if (key) return t(key, { ...(p.params ?? {}), field });
  return t('err.problem_other', { field, detail: p.message });
}

export function problemsText(list: CoreProblem[]): string {
  return list.map(problemText).join(t('err.separator'));
}

/** An error an engine edit or the core threw, made so it can be recognised by its code. */
export function codedError(code: string, message: string): Error & CoreError {
  return Object.assign(new Error(message), { code });
}

/**
 * The values a REST error names, in words where they are codes: a payment term, a gate's
 * reason, a role, a record type, an approval step's role.
 */
function restParams(code: string, params: Record<string, string>, detail: string): Record<string, string> {
  const p: Record<string, string> = { ...params, detail };
  if (params.term) p.term = codeLabel('payment_terms', params.term);
  if (params.reason) p.reason = codeLabel('block_reasons', params.reason);
  if (params.type) p.type = tOr(`type.${params.type}`, params.type);
  if (params.role) {
    p.role =
      code === 'not_entitled' ? codeLabel('approval_roles', params.role) : tOr(`role.${params.role}`, params.role);
  }
  return p;
}

/** A REST error's code in words, if the catalogues know it. */
export function restErrorText(code: string, params: Record<string, string>, detail: string): string | null {
  const key = `rest.${code}`;
  if (!hasKey(key)) return null;
  return t(key, restParams(code, params, detail));
}

/** Anything thrown by an edit or a REST call, in words of the current language. A refusal of
 * the record's state (`not_allowed`) carries one problem saying why: its catalogue message
 * when the code is known, else the kind's sentence with the core's words. */
export function errorText(e: unknown): string {
  if (e && typeof e === 'object') {
    const ce = e as Partial<CoreError>;
    const problems = Array.isArray(ce.problems) ? ce.problems : [];
    const code = typeof ce.code === 'string' ? ce.code : '';
    const detail = String(ce.message ?? '');
    // A REST refusal with the core's problems (the write check's): its message, with them.
    if (code && problems.length > 0 && !KIND_KEYS[code]) {
      const text = restErrorText(code, ce.params ?? {}, problemsText(problems));
      if (text) return text;
    }
    const known = problems.length > 0 && problems.every((p) => p.code !== undefined && p.code in PROBLEM_KEYS);
    if (problems.length > 0 && (code !== 'not_allowed' || known)) return problemsText(problems);
    const key = code ? KIND_KEYS[code] : undefined;
    if (key) return t(key, { detail });
    if (code) {
      const text = restErrorText(code, ce.params ?? {}, detail);
      if (text) return text;
    }
  }
  return t('err.other', { detail: e instanceof Error ? e.message : String(e) });
}

/** The first problem's code of a core refusal (e.g. `unknown_carton`), if any. */
export function problemCode(e: unknown): string | null {
  const p = (e as Partial<CoreError> | null)?.problems;
  return Array.isArray(p) && p.length > 0 ? (p[0].code ?? null) : null;
}
