// The shapes of the core's record views (`WasmRecord.view`): `{record, derived}`, the
// serde form of core/src/{inspection,stock_count,shipment}.rs. Only what the screens use.

import type { CoreProblem } from '../i18n/errors';
import type { PhotoRef } from './common';

export interface SignOff {
  by: string;
  name: string;
  at_ms: number;
  signature_sha256: string;
}

export interface VerdictOverride {
  verdict: string;
  reason: string;
  by: string;
  at_ms: number;
}

export interface SamplingPlan {
  code_letter: string;
  sample_size: number;
  accept: number;
  reject: number;
  inspect_all: boolean;
}

export interface ClassPlan {
  class_aql: string | { aql: string };
  own_plan: SamplingPlan | null;
  plan: SamplingPlan | null;
}

export interface InspectionPlan {
  lot_size: number;
  level: string;
  lot_code_letter: string;
  sample_size_rule: string;
  sample_size: number;
  inspect_all: boolean;
  critical: ClassPlan;
  major: ClassPlan;
  minor: ClassPlan;
}

export interface Defect {
  class: 'critical' | 'major' | 'minor';
  description: string;
  position: string;
  qty: number;
  photos: Record<string, PhotoRef>;
  by: string;
  at_ms: number;
  voided: { by: string; at_ms: number; reason: string } | null;
}

export interface MeasurementPoint {
  name: string;
  size: string;
  target: number;
  tol_minus: number;
  tol_plus: number;
  unit: string;
}

export interface Reading {
  point: string;
  piece: number;
  value: number;
  by: string;
  at_ms: number;
}

export interface CheckItem {
  name: string;
  result: '' | 'pass' | 'fail' | 'na';
  note: string;
  photos: Record<string, PhotoRef>;
  by: string;
  at_ms: number;
}

export interface Inspection {
  type: string;
  created_by: string;
  title: string;
  order_no: string;
  po_no: string;
  style_no: string;
  customer: string;
  factory: string;
  inspection_type: 'pre_production' | 'inline' | 'pre_shipment';
  lot_size: number;
  due_ms: number;
  aql: { level: string; critical: string; major: string; minor: string; sample_size_rule: string };
  defects: Record<string, Defect>;
  points: Record<string, MeasurementPoint>;
  readings: Record<string, Reading>;
  checklist: Record<string, CheckItem>;
  photos: Record<string, PhotoRef>;
  override: VerdictOverride | null;
  sign_off: { person: SignOff; verdict: string; heads: string[] } | null;
  remarks: string;
}

export interface InspectionDerived {
  plan: InspectionPlan | null;
  plan_problems: CoreProblem[];
  classes: Array<{ class: string; found: number; accept: number | null; reject: number | null; rejected: boolean }>;
  derived_verdict: string;
  verdict: string;
  overridden: boolean;
  failed_checks: string[];
  open_checks: string[];
  out_of_tolerance: Array<{ reading: string; point: string; piece: number; deviation: number }>;
  status: string;
}

export interface InspectionView {
  record: Inspection;
  derived: InspectionDerived;
}

export interface CountEntry {
  qty: number;
  round: number;
  by: string;
  at_ms: number;
}

export interface CountLine {
  location: string;
  sku: string;
  description: string;
  unit: string;
  expected: number;
  safety_stock: number;
  round: number;
  entries: Record<string, CountEntry>;
}

export interface StockCount {
  title: string;
  warehouse: string;
  due_ms: number;
  blind: boolean;
  threshold: { qty: number | null; pct: number | null };
  lines: Record<string, CountLine>;
  submissions: Record<string, { at_ms: number }>;
  approval: { by: string; at_ms: number; note: string } | null;
}

export interface LineDerived {
  counted_round: number | null;
  current_round: number;
  total: number | null;
  counters: number;
  variance: number | null;
  variance_pct: number | null;
  recount: boolean;
  recount_pending: boolean;
  below_safety_stock: boolean;
}

export interface StockCountView {
  record: StockCount;
  derived: {
    lines: Record<string, LineDerived>;
    uncounted: number;
    flagged: number;
    recount_pending: number;
    net_variance: number;
    status: string;
  };
  expected_hidden: boolean;
}

export interface PackingLine {
  po_no: string;
  style_no: string;
  description: string;
  cartons_expected: number;
  qty_per_carton: number;
  shipping_mark: string;
  barcode: string;
  loaded: number;
  mark_verified: { by: string; at_ms: number } | null;
  photos: Record<string, PhotoRef>;
}

export interface ShipmentCheck {
  title: string;
  order_no: string;
  customer: string;
  factory: string;
  booking_no: string;
  container_no: string;
  seal_no: string;
  container_type: string;
  due_ms: number;
  lines: Record<string, PackingLine>;
  extras: Record<string, { po_no: string; style_no: string; note: string; count: number; by: string; at_ms: number }>;
  photos: Record<string, PhotoRef>;
  override: VerdictOverride | null;
  sign_off: SignOff | null;
  remarks: string;
}

export interface ShipmentView {
  record: ShipmentCheck;
  derived: {
    lines: Record<string, { loaded: number; expected: number; missing: number; extra: number; mark_verified: boolean }>;
    missing: number;
    extra: number;
    unlisted: number;
    marks_unverified: string[];
    open_items: string[];
    derived_verdict: string;
    verdict: string;
    overridden: boolean;
    status: string;
  };
}
