// Who may fill which sign-off slot: the rule the server enforces on every change set
// (`gendan_core::access::check_sign_offs`), mirrored here so the office forms are offered
// only to a user who may fill them and say who may otherwise. The server stays the
// authority: this decides what the page shows, never what is accepted.
//
// Mirrors, exactly:
// - `review::review_signer_titles` — the contract review: `price_check` by
//   `product_control_manager`, `tracking_sheet` by `merchandiser` (title or access role),
//   `cost_sheet:<department>` by `<department>_manager` (`review::department_head_title`),
//   `cost_sheet:general_manager` by `general_manager`; any other key is nobody's;
// - `purchase_order::signature_titles` — the PO: `sales` by `sales_rep` or `sales`,
//   `general_manager` by `general_manager`; any other slot is nobody's;
// - `order_commercial::deposit_confirmation_problems` — the deposit by `finance` only;
// - `access::Principal::decision_roles` — what is matched: the job titles, then the
//   access role's own name.
// `signers.test.ts` covers every slot and checks these names against the core's source.

/** Product control manager (产品控制中心经理): checks the price. `review::PRODUCT_CONTROL_MANAGER`. */
export const PRODUCT_CONTROL_MANAGER = 'product_control_manager';
/** Merchandiser, by job title or access role: signs the tracking sheet. `review::MERCHANDISER`. */
export const MERCHANDISER = 'merchandiser';
/** A department head's title is `<department>_manager`. `review::DEPARTMENT_HEAD_SUFFIX`. */
export const DEPARTMENT_HEAD_SUFFIX = '_manager';
/** The general manager's title and cost-sheet department. `order_commercial::GENERAL_MANAGER`. */
export const GENERAL_MANAGER = 'general_manager';
/** Finance (财务部): alone confirms a deposit. `order_commercial::FINANCE`. */
export const FINANCE = 'finance';
/** A sales representative's title. `chains::SALES_REP`. */
export const SALES_REP = 'sales_rep';
/** The access role `sales` (业务员), which may sign the PO's sales slot too. */
export const SALES_ROLE = 'sales';
/** The PO's signature slots. `purchase_order::SALES_SIGNATURE`, `GENERAL_MANAGER_SIGNATURE`. */
export const SALES_SIGNATURE = 'sales';
export const GENERAL_MANAGER_SIGNATURE = 'general_manager';
/** The longest cost-sheet department. `review::DEPARTMENT_BYTES_MAX`. */
export const DEPARTMENT_BYTES_MAX = 56;

/** One sign-off slot: a contract-review key, a PO signature slot, or the deposit. */
export type SignOffSlot =
  | { record: 'review'; key: string }
  | { record: 'po'; key: string }
  | { record: 'deposit' };

/** The user as the rule sees them: `GET /api/v1/me`'s `user`. */
export interface Signer {
  role: string;
  titles?: readonly string[] | null;
}

/** The roles matched against a slot's titles: the job titles, then the access role. */
export function decisionRoles(u: Signer): string[] {
  return [...(u.titles ?? []), u.role];
}

/** The job title of `department`'s head: `<department>_manager`, the GM as `general_manager`. */
export function departmentHeadTitle(department: string): string {
  return department === GENERAL_MANAGER ? GENERAL_MANAGER : `${department}${DEPARTMENT_HEAD_SUFFIX}`;
}

/** Whether `department` is spelled as the core accepts it (`review::check_department`). */
export function isDepartment(department: string): boolean {
  return /^[a-z0-9_]+$/.test(department) && department.length <= DEPARTMENT_BYTES_MAX;
}

/** The contract review key a `sign_review` op fills (`CommercialOp::SignReview`). */
export function reviewKey(step: string, department: string): string {
  return step === 'cost_sheet' ? `cost_sheet:${department}` : step;
}

/** The titles (or access role names) that may fill `slot`; empty when nobody may. */
export function signerTitles(slot: SignOffSlot): string[] {
  switch (slot.record) {
    case 'deposit':
      return [FINANCE];
    case 'po':
      if (slot.key === SALES_SIGNATURE) return [SALES_REP, SALES_ROLE];
      if (slot.key === GENERAL_MANAGER_SIGNATURE) return [GENERAL_MANAGER];
      return [];
    case 'review': {
      if (slot.key === 'price_check') return [PRODUCT_CONTROL_MANAGER];
      if (slot.key === 'tracking_sheet') return [MERCHANDISER];
      const prefix = 'cost_sheet:';
      if (slot.key.startsWith(prefix) && slot.key.length > prefix.length) {
        return [departmentHeadTitle(slot.key.slice(prefix.length))];
      }
      return [];
    }
  }
}

/** Whether `u` may fill `slot` (the server still checks, under their own name). */
export function mayFill(u: Signer, slot: SignOffSlot): boolean {
  const allowed = signerTitles(slot);
  return decisionRoles(u).some((r) => allowed.includes(r));
}

/**
 * The cost-sheet departments whose line `u` may sign, one per title that heads one:
 * `general_manager` signs the GM's line, `<department>_manager` its department's.
 */
export function headedDepartments(u: Signer): string[] {
  const out: string[] = [];
  for (const r of decisionRoles(u)) {
    const d =
      r === GENERAL_MANAGER
        ? GENERAL_MANAGER
        : r.endsWith(DEPARTMENT_HEAD_SUFFIX)
          ? r.slice(0, -DEPARTMENT_HEAD_SUFFIX.length)
          : '';
    if (d && isDepartment(d) && !out.includes(d)) out.push(d);
  }
  return out;
}

/** The review steps (`ReviewStep`) `u` may sign at least one slot of. */
export function signableReviewSteps(u: Signer): string[] {
  const steps: string[] = [];
  if (mayFill(u, { record: 'review', key: 'price_check' })) steps.push('price_check');
  if (mayFill(u, { record: 'review', key: 'tracking_sheet' })) steps.push('tracking_sheet');
  if (headedDepartments(u).length > 0) steps.push('cost_sheet');
  return steps;
}

/**
 * The contract review's slots, in the order the core expects them (`review::contract_review`):
 * the price check, the tracking sheet, each required department's cost-sheet line, the GM's.
 * `required` is the commercial side's `cost_sheet_signers` (department → required).
 */
export function reviewSlots(required: Record<string, unknown>): string[] {
  const departments = Object.entries(required)
    .filter(([d, v]) => v === true && d !== GENERAL_MANAGER)
    .map(([d]) => d)
    .sort();
  return ['price_check', 'tracking_sheet', ...departments.map((d) => `cost_sheet:${d}`), `cost_sheet:${GENERAL_MANAGER}`];
}

/** The PO's signature slots, in signing order. */
export const PO_SLOTS = [SALES_SIGNATURE, GENERAL_MANAGER_SIGNATURE] as const;
