// The office pages' REST calls: the dashboard, an order's timeline, search, assignable
// users, one record, creating and assigning records, approval decisions. Online only: the
// office works against the server (field screens work offline through the sync engine).

import { errorOf } from '../api';

export interface Summary {
  id: string;
  record_type: string;
  title: string;
  status: string;
  order_no?: string | null;
  style_no?: string | null;
  customer?: string | null;
  factory?: string | null;
  warehouse?: string | null;
  assignees: string[];
  due_ms?: number | null;
  updated_ms: number;
  verdict?: string | null;
}

export interface Alarm {
  alarm: 'milestone_overdue' | 'production_behind' | 'projected_late' | 'past_delivery' | 'shipping_marks_missing';
  id?: string;
  name?: string;
  days?: number;
  planned?: number;
  actual?: number;
  days_to_delivery?: number;
}

export interface OrderRisk {
  order_id: string;
  order_no: string;
  style_no: string;
  factory: string;
  merchandiser: string;
  delivery_ms: number;
  projected_ship_ms: number;
  slip_days: number;
  level: 'shipped' | 'on_track' | 'watch' | 'at_risk' | 'late';
  alarms: Alarm[];
}

export interface Gate {
  state: 'open' | 'blocked' | 'open_by_special_approval';
  term: string;
  /** Blocked: why (a code); open by special approval: the approval's reason (text). */
  reason?: string;
  message?: string;
  /** Open by special approval: what would block it, and who approved. */
  blocked_by?: string;
  approved_by?: string[];
  /** Blocked: why the special approvals offered did not open it (English). */
  special_approval?: string | null;
}

export interface Dashboard {
  today_ms: number;
  at_risk: OrderRisk[];
  overdue_milestones: {
    order_id: string;
    order_no: string;
    style_no: string;
    factory: string;
    milestone: string;
    name: string;
    days: number;
  }[];
  blocked_pos: { id: string; po_no: string; order_no: string; style_no: string; factory: string; gate: Gate }[];
  failed_inspections: Summary[];
  pending_inspections: Summary[];
  counts_waiting: Summary[];
  my_approvals: MyApproval[];
  late_by_factory: { factory: string; done_late: number; overdue: number; by_code: Record<string, number> }[];
  defect_pareto: DefectPareto[];
  truncated: boolean;
}

export interface MyApproval {
  id: string;
  subject: string;
  order_no: string;
  kind: string;
  step: string;
  deadline_ms: number | null;
  overdue: boolean;
}

export interface DefectPareto {
  factory: string;
  style_no: string;
  inspections: number;
  defects: { description: string; class: 'critical' | 'major' | 'minor'; qty: number }[];
}

/** A refused row of an imported sheet (`gendan_server::excel::RowError`). */
export interface ImportRowError {
  row: number;
  message: string;
  code?: string;
  params?: Record<string, string>;
}

export interface TimelineEvent {
  at_ms: number;
  received_ms: number | null;
  user: string;
  record_id: string;
  record_type: string;
  title: string;
  what: string;
  /** An activity entry's text, in English. */
  text: string;
  /** An activity entry's code (see `activityText`); empty for older entries. */
  code?: string;
  /** The values the code names. */
  params?: Record<string, string>;
  count: number;
}

export interface Timeline {
  order_no: string;
  records: Summary[];
  risk: OrderRisk | null;
  gates: { id: string; po_no: string; gate: Gate | null }[];
  events: TimelineEvent[];
  truncated: boolean;
}

export interface SearchPage {
  items: Summary[];
  orders: { order_no: string; style_no: string; customer: string; factory: string; records: number }[];
  next: string | null;
}

export interface Assignee {
  username: string;
  display_name: string | null;
  role: string;
  factory: string | null;
  warehouse: string | null;
}

/** What an upload of the tracking sheet did (the same as `gendan import orders`). */
export interface ImportSummary {
  created: number;
  updated: number;
  /** Refused rows: the English, and a code with its values for the page to word. */
  errors: ImportRowError[];
}

export interface RecordAnswer {
  id: string;
  type: string;
  access: 'read' | 'write';
  heads: string[];
  view: { record: Record<string, unknown>; derived: Record<string, unknown> };
}

/** The logged-in user as `GET /api/v1/me` returns them (the account as stored now). */
export interface Me {
  user: {
    username: string;
    role: string;
    display_name?: string | null;
    /** Job titles (`finance`, `general_manager`, …): which sign-offs and approval steps are theirs. */
    titles?: string[];
  };
  expires_ms: number;
}

/** A client of the REST API for one session. */
export class OfficeApi {
  constructor(
    readonly base: string,
    readonly token: string,
    readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return body === undefined
      ? this.send(method, path)
      : this.send(method, path, JSON.stringify(body), 'application/json');
  }

  private async send<T>(method: string, path: string, body?: BodyInit, contentType?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (contentType) headers['content-type'] = contentType;
    const r = await this.fetchImpl(`${this.base}/api/v1${path}`, {
      method,
      headers,
      body,
      cache: 'no-store',
    });
    if (!r.ok) throw await errorOf(r);
    return (await r.json()) as T;
  }

  /** The order tracking sheet (订单跟踪表) as an Excel workbook. */
  async exportOrders(lang: 'zh' | 'en'): Promise<Blob> {
    const r = await this.fetchImpl(`${this.base}/api/v1/export/orders.xlsx?lang=${lang}`, {
      headers: { authorization: `Bearer ${this.token}` },
      cache: 'no-store',
    });
    if (!r.ok) throw await errorOf(r);
    return r.blob();
  }

  /** Uploads an order tracking sheet; the server creates or updates its orders. */
  importOrders(file: Blob): Promise<ImportSummary> {
    return this.send('POST', '/import/orders.xlsx', file, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  }

  /** Applies one JSON operation to a record (the core's op enums), checked by the server. */
  op(id: string, op: Record<string, unknown>): Promise<RecordAnswer> {
    return this.call('POST', `/records/${encodeURIComponent(id)}/ops`, op);
  }

  /** A repeat order takes the previous order's packaging data and shipping marks to adjust. */
  copyPackaging(id: string, fromOrderNo: string): Promise<{ copied: number; skipped: number; from: string; record: RecordAnswer }> {
    return this.call('POST', `/records/${encodeURIComponent(id)}/copy-packaging`, { from_order_no: fromOrderNo });
  }

  /** Who is logged in, with their role and job titles as the account is now. */
  me(): Promise<Me> {
    return this.call('GET', '/me');
  }

  dashboard(): Promise<Dashboard> {
    return this.call('GET', '/dashboard');
  }

  timeline(orderNo: string): Promise<Timeline> {
    return this.call('GET', `/orders/${encodeURIComponent(orderNo)}/timeline`);
  }

  search(q: string, opts: { type?: string; after?: string; limit?: number } = {}): Promise<SearchPage> {
    const p = new URLSearchParams({ q });
    if (opts.type) p.set('type', opts.type);
    if (opts.after) p.set('after', opts.after);
    if (opts.limit) p.set('limit', String(opts.limit));
    return this.call('GET', `/search?${p}`);
  }

  assignees(type?: string): Promise<{ items: Assignee[] }> {
    return this.call('GET', type ? `/assignees?type=${encodeURIComponent(type)}` : '/assignees');
  }

  record(id: string): Promise<RecordAnswer> {
    return this.call('GET', `/records/${encodeURIComponent(id)}`);
  }

  list(params: Record<string, string>): Promise<{ items: Summary[]; next: string | null }> {
    return this.call('GET', `/records?${new URLSearchParams(params)}`);
  }

  create(body: Record<string, unknown>): Promise<{ id: string }> {
    return this.call('POST', '/records', body);
  }

  assign(id: string, user: string): Promise<RecordAnswer> {
    return this.call('POST', `/records/${encodeURIComponent(id)}/assign`, { user });
  }

  decide(id: string, step: string, approved: boolean, comment: string): Promise<RecordAnswer> {
    return this.call('POST', `/records/${encodeURIComponent(id)}/decide`, { step, approved, comment });
  }
}

/** The roles that work in the office (the server answers 403 to the others). */
export const OFFICE_ROLES = new Set(['admin', 'merchandiser', 'sales', 'approver']);

export function isOffice(role: string): boolean {
  return OFFICE_ROLES.has(role);
}
