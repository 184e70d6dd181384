// Job titles and sign-off slots in words: who may sign what (office/signers.ts) and the
// core's sign-off refusals (`sign_off.*`, `deposit.finance_only`) name titles and slots by
// their codes; these say them in the interface's language. An unknown title is shown as
// its code, never hidden.

import { DEPARTMENT_HEAD_SUFFIX, type SignOffSlot } from '../office/signers';
import { t } from './index';
import { codeLabel, hasKey, tOr } from './labels';

/** A cost-sheet department in words (`finance` → 财务部); the code when unknown. */
export function departmentLabel(department: string): string {
  return tOr(`dept.${department}`, department);
}

/**
 * A job title (or access role name) in words: its own label, an approval role's, an access
 * role's, else `<department>_manager` as the head of the department, else the code.
 */
export function titleLabel(code: string): string {
  for (const key of [`title.${code}`, `code.approval_roles.${code}`, `role.${code}`]) {
    if (hasKey(key)) return t(key);
  }
  if (code.endsWith(DEPARTMENT_HEAD_SUFFIX) && code.length > DEPARTMENT_HEAD_SUFFIX.length) {
    return t('title.department_head', { department: departmentLabel(code.slice(0, -DEPARTMENT_HEAD_SUFFIX.length)) });
  }
  return code;
}

/**
 * Titles in words, each once, joined by "or" (who may) or by a list separator (what one
 * holds); "none" for an empty list.
 */
export function titlesText(codes: readonly string[], join: 'or' | 'and' = 'or'): string {
  const labels = [...new Set(codes.filter((c) => c).map(titleLabel))];
  if (labels.length === 0) return t('title.none');
  return labels.join(t(join === 'or' ? 'title.or' : 'title.and'));
}

/** The core's list param (`"finance, finance_manager"`, or `"none"`) as title codes. */
export function titleCodes(param: string | undefined): string[] {
  if (!param || param === 'none') return [];
  return param
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s);
}

/** A sign-off slot in words: a review step (and department), a PO signature, the deposit. */
export function slotLabel(slot: SignOffSlot): string {
  if (slot.record === 'deposit') return t('slot.deposit');
  if (slot.record === 'po') return t('slot.po', { signature: codeLabel('po_signatures', slot.key) });
  const [step, ...rest] = slot.key.split(':');
  const department = rest.join(':');
  if (step === 'cost_sheet' && department) return t('slot.review_cost_sheet', { department: departmentLabel(department) });
  if (slot.key === 'price_check') return t('slot.review_price_check');
  if (slot.key === 'tracking_sheet') return t('slot.review_tracking_sheet');
  return codeLabel('review_steps', slot.key);
}

/**
 * The slot a sign-off problem is about, from its path (`review.<key>`, `signatures.<slot>`,
 * the deposit's fields) and its `slot` param.
 */
export function slotOfProblem(field: string, slot: string | undefined): SignOffSlot | null {
  const [root, ...rest] = field.split('.');
  const key = slot ?? rest.join('.');
  if (root === 'review' && key) return { record: 'review', key };
  if (root === 'signatures' && key) return { record: 'po', key };
  if (root.startsWith('deposit_')) return { record: 'deposit' };
  return null;
}

/** Who may fill `slot`, in a sentence (`由财务确认定金。`, `价格确认：由产品控制经理签字。`). */
export function whoMayText(slot: SignOffSlot, titles: readonly string[]): string {
  if (slot.record === 'deposit') return t('who.deposit');
  if (titles.length === 0) return t('who.nobody', { slot: slotLabel(slot) });
  return t('who.slot', { slot: slotLabel(slot), titles: titlesText(titles) });
}
