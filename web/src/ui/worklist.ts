// The work list's order and search, as pure functions (unit-tested).

import type { Summary } from '../sync/engine';

export interface WorkItem {
  id: string;
  summary: Summary;
  /** The status as the device sees it now (local edits may be ahead of the index). */
  status: string;
  verdict: string;
  /** Extra text to search (e.g. a count's locations/bins). */
  extraText: string;
  held: boolean;
}

/** Statuses of work that is finished on the device's side. */
export const DONE_STATUSES = new Set(['signed', 'submitted', 'approved', 'cleared', 'delivered']);

/** Order: unfinished before finished; then by due date (no date last); then by title. */
export function compareWork(a: WorkItem, b: WorkItem): number {
  const da = DONE_STATUSES.has(a.status) ? 1 : 0;
  const db = DONE_STATUSES.has(b.status) ? 1 : 0;
  if (da !== db) return da - db;
  const dueA = a.summary.due_ms || Number.MAX_SAFE_INTEGER;
  const dueB = b.summary.due_ms || Number.MAX_SAFE_INTEGER;
  if (dueA !== dueB) return dueA - dueB;
  return a.summary.title.localeCompare(b.summary.title);
}

export function searchText(item: WorkItem): string {
  const s = item.summary;
  return [s.title, s.order_no, s.style_no, s.po_no, s.customer, s.factory, s.warehouse, item.extraText]
    .join(' ')
    .toLowerCase();
}

/** Every word of the query must appear (order no., style no., factory, location …). */
export function matches(item: WorkItem, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = searchText(item);
  return words.every((w) => text.includes(w));
}

export function workList(items: WorkItem[], query: string, type: string | null): WorkItem[] {
  return items
    .filter((i) => (type ? i.summary.record_type === type : true))
    .filter((i) => matches(i, query))
    .sort(compareWork);
}
