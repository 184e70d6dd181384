//! The order tracking sheet (订单跟踪表) as an Excel workbook: merchandisers live in it.
//!
//! One row per order line (colour), with the order's fields and, for every step of the
//! Time & Action template ([`gendan_core::plan::DEFAULT_TEMPLATE`]), its planned and actual
//! dates. Headers are zh-CN by default or English; import reads either.
//!
//! - [`export`]: every order in the store → `.xlsx` bytes (`gendan export orders`, and
//!   `GET /api/v1/export/orders.xlsx` for the office page).
//! - [`read_sheet`] + [`import`]: a sheet in that layout → orders created or updated,
//!   matched by order no. + style no. Rows are checked one by one; a bad row is reported
//!   with its row number and never stops or touches the good ones.
//!
//! Reading and writing `.xlsx` is `calamine` and `rust_xlsxwriter`; this module only maps
//! rows to records.

use std::collections::BTreeMap;

use calamine::{Data, Reader, Xlsx};
use gendan_core::calendar::{civil_date, day_start_ms, local_day};
use gendan_core::common::{EditContext, SHORT_TEXT_BYTES_MAX};
use gendan_core::order::{self, Milestone, NewOrder, Order, OrderLine, OrderOp};
use gendan_core::plan::DEFAULT_TEMPLATE;
use gendan_core::protocol::DocumentId;
use gendan_core::record::{Record, RecordType, actor_from_bytes};
use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;

use crate::persist::ServerStorage;
use crate::projections::IndexField;
use crate::store::SCAN_ROWS_MAX;
use crate::sync::{SyncHandle, random_bytes16};

/// The most data rows one import reads; a longer sheet is refused as a whole (split it).
pub const IMPORT_ROWS_MAX: usize = 5_000;
/// The largest workbook an import reads, in bytes.
pub const IMPORT_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The most orders one export writes.
pub const EXPORT_ORDERS_MAX: usize = 50_000;

/// Excel's serial number of 1970-01-01 (its day 0 is 1899-12-30).
const EXCEL_UNIX_EPOCH: i64 = 25_569;

/// The language of the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 简体中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

/// The fixed columns, before the milestone dates: (zh, en).
const FIXED: [(&str, &str); 9] = [
    ("订单号", "Order no."),
    ("款号", "Style no."),
    ("客户", "Customer"),
    ("工厂", "Factory"),
    ("跟单员", "Merchandiser"),
    ("业务员", "Sales"),
    ("交货期", "Delivery date"),
    ("颜色", "Colour"),
    ("数量", "Quantity"),
];

/// The headers of the sheet in `lang`.
pub fn headers(lang: Lang) -> Vec<String> {
    let mut out: Vec<String> = FIXED
        .iter()
        .map(|(zh, en)| match lang {
            Lang::Zh => (*zh).to_string(),
            Lang::En => (*en).to_string(),
        })
        .collect();
    for step in DEFAULT_TEMPLATE {
        // Template names read "合同评审 contract review": the Chinese, then the English.
        let (zh, en) = step.name.split_once(' ').unwrap_or((step.name, step.name));
        match lang {
            Lang::Zh => {
                out.push(format!("{zh} 计划"));
                out.push(format!("{zh} 实际"));
            }
            Lang::En => {
                out.push(format!("{en} planned"));
                out.push(format!("{en} actual"));
            }
        }
    }
    out
}

/// One row of the sheet: one line (colour) of one order. Dates are office-local day
/// numbers (days since 1970-01-01).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SheetRow {
    /// 订单号.
    pub order_no: String,
    /// 款号.
    pub style_no: String,
    /// 客户.
    pub customer: String,
    /// 工厂.
    pub factory: String,
    /// 跟单员.
    pub merchandiser: String,
    /// 业务员.
    pub sales: String,
    /// 交货期.
    pub delivery_day: Option<i64>,
    /// 颜色.
    pub colour: String,
    /// 数量.
    pub quantity: i64,
    /// Planned and actual day of each template step, in template order.
    pub milestones: Vec<(Option<i64>, Option<i64>)>,
}

/// Why a sheet could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    /// Not an `.xlsx` workbook, or a damaged one.
    #[error("not a readable .xlsx workbook: {0}")]
    NotAWorkbook(String),
    /// The workbook has no sheet.
    #[error("the workbook has no sheet")]
    NoSheet,
    /// The first row does not carry the tracking sheet's headers.
    #[error("the first row is not the order tracking sheet's header: missing {0}")]
    Header(String),
    /// Too many rows.
    #[error("the sheet has {0} data rows; at most {IMPORT_ROWS_MAX} are read at once (split it)")]
    TooManyRows(usize),
    /// Too many bytes.
    #[error("the file is {0} bytes; at most {IMPORT_BYTES_MAX} are read")]
    TooLarge(usize),
    /// Writing the workbook failed.
    #[error("the workbook could not be written: {0}")]
    Write(String),
    /// Reading the store failed.
    #[error("{0}")]
    Store(String),
}

/// A problem with one row: its 1-based row number in the sheet (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row number as Excel shows it.
    pub row: usize,
    /// What is wrong, in English (for the command line and API users).
    pub message: String,
    /// What is wrong as one of [`ROW_ERROR_CODES`], for the office page to word it in its
    /// language.
    pub code: &'static str,
    /// The values the code names (`column` and `column_en`: the column's header in each
    /// language; `value`, `bytes`, `max`, `order_no`, `style_no`, `other_row`, `colour`,
    /// `detail`).
    pub params: BTreeMap<String, String>,
}

/// The codes of [`RowError::code`].
pub const ROW_ERROR_CODES: &[&str] = &[
    "required",
    "text_too_long",
    "not_a_date",
    "not_whole_number",
    "order_fields_differ",
    "colour_twice",
    "not_saved",
];

/// What is wrong with a row, before its number is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowProblem {
    message: String,
    code: &'static str,
    params: BTreeMap<String, String>,
}

impl RowProblem {
    fn new(code: &'static str, message: String) -> Self {
        debug_assert!(ROW_ERROR_CODES.contains(&code), "{code} is not listed");
        Self {
            message,
            code,
            params: BTreeMap::new(),
        }
    }

    fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_string(), value.to_string());
        self
    }

    /// Names column `i` in both languages.
    fn column(self, i: usize) -> Self {
        let (zh, en) = (headers(Lang::Zh), headers(Lang::En));
        self.with("column", &zh[i]).with("column_en", &en[i])
    }

    fn at(self, row: usize) -> RowError {
        RowError {
            row,
            message: self.message,
            code: self.code,
            params: self.params,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Orders created.
    pub created: usize,
    /// Existing orders (same order no. and style no.) updated.
    pub updated: usize,
    /// Rows refused, each with why.
    pub errors: Vec<RowError>,
}

// ---------------------------------------------------------------------------------------
// Orders → rows → workbook

/// The milestone of `o` planned from template step `code`.
fn milestone_of<'a>(o: &'a Order, code: &str) -> Option<&'a Milestone> {
    o.milestones
        .get(code)
        .filter(|m| m.code.is_empty() || m.code == code)
        .or_else(|| o.milestones.values().find(|m| m.code == code))
}

fn day_of(ms: i64) -> Option<i64> {
    (ms > 0).then(|| local_day(ms))
}

/// The rows of one order: one per line, or one with no colour for an order without lines.
pub fn rows_of(o: &Order) -> Vec<SheetRow> {
    let milestones: Vec<(Option<i64>, Option<i64>)> = DEFAULT_TEMPLATE
        .iter()
        .map(|step| {
            milestone_of(o, step.code).map_or((None, None), |m| {
                (day_of(m.planned_ms.0), day_of(m.actual_ms.0))
            })
        })
        .collect();
    let row = |colour: &str, quantity: i64| SheetRow {
        order_no: o.order_no.clone(),
        style_no: o.style_no.clone(),
        customer: o.customer.clone(),
        factory: o.factory.clone(),
        merchandiser: o.merchandiser.clone(),
        sales: o.sales.clone(),
        delivery_day: day_of(o.delivery_ms.0),
        colour: colour.to_string(),
        quantity,
        milestones: milestones.clone(),
    };
    if o.lines.is_empty() {
        return vec![row("", 0)];
    }
    let mut rows: Vec<SheetRow> = o
        .lines
        .values()
        .map(|l| row(&l.colour, l.total()))
        .collect();
    rows.sort_by(|a, b| a.colour.cmp(&b.colour));
    rows
}

/// Every order in the store, as rows sorted by order no., style no. and colour.
pub fn store_rows(storage: &ServerStorage) -> Result<Vec<SheetRow>, SheetError> {
    let store_error = |e: &dyn std::fmt::Display| SheetError::Store(e.to_string());
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    let mut orders = 0;
    loop {
        let ids = storage
            .projections
            .ids_by(
                IndexField::RecordType,
                RecordType::Order.as_str(),
                after.as_deref(),
                SCAN_ROWS_MAX,
            )
            .map_err(|e| store_error(&e))?;
        let Some(last) = ids.last().cloned() else {
            break;
        };
        for id in &ids {
            let Some(bytes) = storage.docs.load(id).map_err(|e| store_error(&e))? else {
                continue;
            };
            let doc = gendan_core::guard::load(&bytes).map_err(|e| store_error(&e))?;
            let Ok(record) = Record::from_doc(doc) else {
                continue;
            };
            if record.record_type() != RecordType::Order {
                continue;
            }
            let o: Order = record.read().map_err(|e| store_error(&e))?;
            orders += 1;
            if orders > EXPORT_ORDERS_MAX {
                return Err(SheetError::Store(format!(
                    "more than {EXPORT_ORDERS_MAX} orders: export them by query instead"
                )));
            }
            rows.extend(rows_of(&o));
        }
        after = Some(last);
    }
    rows.sort_by(|a, b| {
        (&a.order_no, &a.style_no, &a.colour).cmp(&(&b.order_no, &b.style_no, &b.colour))
    });
    Ok(rows)
}

/// The workbook of `rows` with headers in `lang`.
pub fn write_sheet(rows: &[SheetRow], lang: Lang) -> Result<Vec<u8>, SheetError> {
    let write_error = |e: rust_xlsxwriter::XlsxError| SheetError::Write(e.to_string());
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet
        .set_name(match lang {
            Lang::Zh => "订单跟踪表",
            Lang::En => "Order tracking",
        })
        .map_err(write_error)?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (col, title) in headers(lang).iter().enumerate() {
        let col = u16::try_from(col).map_err(|e| SheetError::Write(e.to_string()))?;
        sheet
            .write_string_with_format(0, col, title, &bold)
            .map_err(write_error)?;
        sheet
            .set_column_width(col, if col < 9 { 14 } else { 12 })
            .map_err(write_error)?;
    }
    sheet.set_freeze_panes(1, 2).map_err(write_error)?;
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1).map_err(|e| SheetError::Write(e.to_string()))?;
        let texts = [
            &r.order_no,
            &r.style_no,
            &r.customer,
            &r.factory,
            &r.merchandiser,
            &r.sales,
        ];
        for (col, text) in (0u16..).zip(texts) {
            if !text.is_empty() {
                sheet.write_string(row, col, text).map_err(write_error)?;
            }
        }
        let mut put_day = |col: u16, day: Option<i64>| -> Result<(), SheetError> {
            if let Some(day) = day {
                #[allow(clippy::cast_precision_loss, reason = "day numbers are small")]
                let serial = (day + EXCEL_UNIX_EPOCH) as f64;
                sheet
                    .write_number_with_format(row, col, serial, &date)
                    .map_err(write_error)?;
            }
            Ok(())
        };
        put_day(6, r.delivery_day)?;
        for (i, (planned, actual)) in r.milestones.iter().enumerate() {
            let col = u16::try_from(9 + 2 * i).map_err(|e| SheetError::Write(e.to_string()))?;
            put_day(col, *planned)?;
            put_day(col + 1, *actual)?;
        }
        if !r.colour.is_empty() {
            sheet.write_string(row, 7, &r.colour).map_err(write_error)?;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "piece counts are far below 2^53"
        )]
        sheet
            .write_number(row, 8, r.quantity as f64)
            .map_err(write_error)?;
    }
    workbook.save_to_buffer().map_err(write_error)
}

/// `gendan export orders`: the whole tracking sheet of the store.
pub fn export(storage: &ServerStorage, lang: Lang) -> Result<Vec<u8>, SheetError> {
    write_sheet(&store_rows(storage)?, lang)
}

// ---------------------------------------------------------------------------------------
// Workbook → rows

/// A cell as text ("" for empty); numbers without a fraction are written without one.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(n) => n.to_string(),
        #[allow(clippy::cast_possible_truncation, reason = "checked to be whole")]
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Parses `YYYY-MM-DD` (also with `/` or `.`) into a day number.
fn parse_date_text(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split(['-', '/', '.']).map(str::trim).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1900..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (proleptic Gregorian), then checked by converting back.
    let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let day = era * 146_097 + doe - 719_468;
    let (cy, cm, cd) = civil_date(day);
    (cy == y && i64::from(cm) == m && i64::from(cd) == d).then_some(day)
}

/// A date cell: an Excel date, a serial number, or `YYYY-MM-DD` text. `Ok(None)` if empty.
fn cell_day(cell: &Data) -> Result<Option<i64>, String> {
    let serial = match cell {
        Data::Empty => return Ok(None),
        Data::String(s) if s.trim().is_empty() => return Ok(None),
        Data::DateTime(d) => d.as_f64(),
        Data::Float(f) => *f,
        #[allow(clippy::cast_precision_loss, reason = "serials are small")]
        Data::Int(n) => *n as f64,
        Data::String(s) | Data::DateTimeIso(s) => {
            let text = s.trim();
            let date_part = text.split(['T', ' ']).next().unwrap_or(text);
            return parse_date_text(date_part)
                .map(Some)
                .ok_or_else(|| format!("{text:?} is not a date (use YYYY-MM-DD)"));
        }
        other => return Err(format!("{} is not a date", cell_text(other))),
    };
    if !(1.0..=2_958_465.0).contains(&serial) {
        return Err(format!("{serial} is not a date"));
    }
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    Ok(Some(serial.floor() as i64 - EXCEL_UNIX_EPOCH))
}

/// The rows of a sheet, each with its row number, or why it was refused.
pub type SheetRows = Vec<Result<(usize, SheetRow), RowError>>;

/// Reads a workbook's first sheet: the rows, each parsed or refused with its row number.
pub fn read_sheet(bytes: &[u8]) -> Result<SheetRows, SheetError> {
    if bytes.len() > IMPORT_BYTES_MAX {
        return Err(SheetError::TooLarge(bytes.len()));
    }
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| SheetError::NotAWorkbook(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(SheetError::NoSheet)?
        .map_err(|e| SheetError::NotAWorkbook(e.to_string()))?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(cell_text).collect())
        .unwrap_or_default();
    // Map each expected column (by its zh or en header) to where it is in this sheet.
    let (zh, en) = (headers(Lang::Zh), headers(Lang::En));
    let mut columns = Vec::with_capacity(zh.len());
    for (z, e) in zh.iter().zip(&en) {
        let found = header.iter().position(|h| h == z || h == e);
        match found {
            Some(at) => columns.push(Some(at)),
            // The fixed columns are required; a missing milestone column reads as empty.
            None if columns.len() < FIXED.len() => {
                return Err(SheetError::Header(format!("{z} / {e}")));
            }
            None => columns.push(None),
        }
    }
    let data: Vec<(usize, &[Data])> = rows
        .enumerate()
        .map(|(i, r)| (i + 2, r))
        .filter(|(_, r)| r.iter().any(|c| !cell_text(c).is_empty()))
        .collect();
    if data.len() > IMPORT_ROWS_MAX {
        return Err(SheetError::TooManyRows(data.len()));
    }
    Ok(data
        .into_iter()
        .map(|(number, cells)| {
            parse_row(cells, &columns)
                .map(|row| (number, row))
                .map_err(|problem| problem.at(number))
        })
        .collect())
}

fn parse_row(cells: &[Data], columns: &[Option<usize>]) -> Result<SheetRow, RowProblem> {
    let empty = Data::Empty;
    let cell = |i: usize| columns[i].and_then(|at| cells.get(at)).unwrap_or(&empty);
    let (zh, _) = (headers(Lang::Zh), ());
    let text = |i: usize| -> Result<String, RowProblem> {
        let t = cell_text(cell(i));
        if t.len() > SHORT_TEXT_BYTES_MAX {
            return Err(RowProblem::new(
                "text_too_long",
                format!(
                    "{}: {} bytes; at most {SHORT_TEXT_BYTES_MAX}",
                    zh[i],
                    t.len()
                ),
            )
            .column(i)
            .with("bytes", t.len())
            .with("max", SHORT_TEXT_BYTES_MAX));
        }
        Ok(t)
    };
    let day = |i: usize| {
        cell_day(cell(i)).map_err(|e| {
            RowProblem::new("not_a_date", format!("{}: {e}", zh[i]))
                .column(i)
                .with("value", cell_text(cell(i)))
        })
    };
    let row = SheetRow {
        order_no: text(0)?,
        style_no: text(1)?,
        customer: text(2)?,
        factory: text(3)?,
        merchandiser: text(4)?,
        sales: text(5)?,
        delivery_day: day(6)?,
        colour: text(7)?,
        quantity: {
            let t = text(8)?;
            if t.is_empty() {
                0
            } else {
                match t.parse::<i64>() {
                    Ok(n) if n >= 0 => n,
                    _ => {
                        return Err(RowProblem::new(
                            "not_whole_number",
                            format!("{}: {t:?} is not a whole number of pieces", zh[8]),
                        )
                        .column(8)
                        .with("value", t));
                    }
                }
            }
        },
        milestones: (0..DEFAULT_TEMPLATE.len())
            .map(|s| Ok((day(FIXED.len() + 2 * s)?, day(FIXED.len() + 2 * s + 1)?)))
            .collect::<Result<_, RowProblem>>()?,
    };
    for (i, value) in [(0, &row.order_no), (1, &row.style_no)] {
        if value.is_empty() {
            return Err(RowProblem::new("required", format!("{} is empty", zh[i])).column(i));
        }
    }
    Ok(row)
}

// ---------------------------------------------------------------------------------------
// Rows → orders

/// The id of the order with this order no. and style no., if there is one.
fn find_order(
    storage: &ServerStorage,
    order_no: &str,
    style_no: &str,
) -> Result<Option<DocumentId>, String> {
    let ids = storage
        .projections
        .ids_by(IndexField::OrderNo, order_no, None, SCAN_ROWS_MAX)
        .map_err(|e| e.to_string())?;
    for id in ids {
        let Some(s) = storage.projections.get(&id).map_err(|e| e.to_string())? else {
            continue;
        };
        if s.record_type == RecordType::Order.as_str()
            && s.order_no.as_deref() == Some(order_no)
            && s.style_no.as_deref() == Some(style_no)
        {
            return id.parse().map(Some).map_err(|_| format!("bad id {id}"));
        }
    }
    Ok(None)
}

/// Brings `record` (an order) in line with the sheet's rows for it: order fields, lines
/// (matched by colour) and template milestone dates. Key-level edits only.
#[allow(
    clippy::result_large_err,
    reason = "RecordError comes from the core's edit closure"
)]
fn apply_rows(record: &mut Record, rows: &[SheetRow], ctx: &EditContext) -> Result<(), String> {
    let first = &rows[0];
    let o: Order = record.read().map_err(|e| e.to_string())?;
    let log = || hex::encode(random_bytes16());
    let run = |record: &mut Record, op: OrderOp| {
        order::apply(record, &op, &log(), ctx).map_err(|e| e.to_string())
    };
    let fields = [
        ("customer", &o.customer, &first.customer),
        ("merchandiser", &o.merchandiser, &first.merchandiser),
        ("sales", &o.sales, &first.sales),
    ];
    for (key, old, new) in fields {
        if old != new {
            record
                .edit(ctx, &format!("import: {key}"), |doc| {
                    use automerge::transaction::Transactable;
                    doc.put(automerge::ROOT, key, new.as_str())?;
                    Ok(())
                })
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some(day) = first.delivery_day
        && day_of(o.delivery_ms.0) != Some(day)
    {
        run(
            record,
            OrderOp::SetDelivery {
                delivery_ms: day_start_ms(day),
            },
        )?;
    }
    for r in rows.iter().filter(|r| !r.colour.is_empty()) {
        let existing = o.lines.iter().find(|(_, l)| l.colour == r.colour);
        match existing {
            None => run(
                record,
                OrderOp::AddLine {
                    id: line_id(&r.colour),
                    line: OrderLine {
                        colour: r.colour.clone(),
                        quantity: gendan_core::common::Int(r.quantity),
                        ..OrderLine::default()
                    },
                },
            )?,
            Some((id, line)) if line.total() != r.quantity => {
                if !line.sizes.is_empty() {
                    return Err(format!(
                        "colour {}: the quantity is the sum of its sizes ({}); change the sizes in Gendan",
                        r.colour,
                        line.total()
                    ));
                }
                let id = id.clone();
                let qty = r.quantity;
                record
                    .edit(ctx, "import: line quantity", |doc| {
                        use automerge::ReadDoc;
                        use automerge::transaction::Transactable;
                        let lines = match doc.get(automerge::ROOT, "lines")? {
                            Some((_, obj)) => obj,
                            None => return Ok(()),
                        };
                        if let Some((_, line)) = doc.get(&lines, id.as_str())? {
                            doc.put(&line, "quantity", qty)?;
                        }
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
            }
            Some(_) => {}
        }
    }
    for (step, (planned, actual)) in DEFAULT_TEMPLATE.iter().zip(&first.milestones) {
        let current = milestone_of(&o, step.code);
        let id = current
            .and_then(|_| {
                o.milestones
                    .iter()
                    .find(|(id, m)| m.code == step.code || id.as_str() == step.code)
                    .map(|(id, _)| id.clone())
            })
            .unwrap_or_else(|| step.code.to_string());
        match (current, planned) {
            (None, Some(day)) => run(
                record,
                OrderOp::AddMilestone {
                    id: id.clone(),
                    milestone: Milestone {
                        name: step.name.into(),
                        code: step.code.into(),
                        planned_ms: gendan_core::common::Int(day_start_ms(*day)),
                        lead_days: gendan_core::common::Int(step.lead_days),
                        ..Milestone::default()
                    },
                },
            )?,
            (Some(m), Some(day)) if day_of(m.planned_ms.0) != Some(*day) => run(
                record,
                OrderOp::ReplanMilestone {
                    id: id.clone(),
                    planned_ms: day_start_ms(*day),
                },
            )?,
            _ => {}
        }
        let done = current.and_then(|m| day_of(m.actual_ms.0));
        if let Some(day) = actual
            && done != Some(*day)
        {
            if current.is_none() && planned.is_none() {
                return Err(format!(
                    "{}: an actual date needs a planned date",
                    step.name
                ));
            }
            // A late completion needs a reason code; the sheet has none to give.
            let planned_day = planned.or_else(|| current.and_then(|m| day_of(m.planned_ms.0)));
            let late = planned_day.is_some_and(|p| *day > p);
            let op: OrderOp = serde_json::from_value(serde_json::json!({
                "op": "complete_milestone", "id": id, "actual_ms": day_start_ms(*day),
                "late_code": if late { "other" } else { "" },
                "late_reason": if late { "recorded late in the order tracking sheet" } else { "" },
            }))
            .map_err(|e| e.to_string())?;
            run(record, op)?;
        }
    }
    Ok(())
}

/// A line id for a colour: its ASCII letters and digits (readable), then a short hash of the
/// whole name (unique per colour, whatever script it is written in).
fn line_id(colour: &str) -> String {
    use sha2::{Digest, Sha256};
    let slug: String = colour
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    let hash = hex::encode(&Sha256::digest(colour.as_bytes())[..4]);
    if slug.is_empty() {
        format!("c-{hash}")
    } else {
        format!("{slug}-{hash}")
    }
}

/// `gendan import orders`: creates or updates the orders of `rows` as `user`.
pub async fn import(
    storage: &ServerStorage,
    sync: &SyncHandle,
    rows: SheetRows,
    user: &str,
    now_ms: i64,
) -> ImportSummary {
    let mut summary = ImportSummary::default();
    // Group the good rows by order no. + style no., keeping the sheet's order.
    let mut groups: BTreeMap<(String, String), Vec<(usize, SheetRow)>> = BTreeMap::new();
    for row in rows {
        match row {
            Ok((n, r)) => groups
                .entry((r.order_no.clone(), r.style_no.clone()))
                .or_default()
                .push((n, r)),
            Err(e) => summary.errors.push(e),
        }
    }
    for ((order_no, style_no), group) in groups {
        let first_row = group[0].0;
        let fail = |summary: &mut ImportSummary, problem: RowProblem| {
            summary.errors.push(problem.at(first_row));
        };
        let not_saved = |detail: String| {
            RowProblem::new(
                "not_saved",
                format!("order {order_no} / {style_no}: {detail}"),
            )
            .with("order_no", &order_no)
            .with("style_no", &style_no)
            .with("detail", detail)
        };
        // The order's own fields must agree across its rows.
        let (lead, rest) = (&group[0].1, &group[1..]);
        if let Some((n, _)) = rest.iter().find(|(_, r)| {
            (
                &r.customer,
                &r.factory,
                &r.merchandiser,
                &r.sales,
                r.delivery_day,
            ) != (
                &lead.customer,
                &lead.factory,
                &lead.merchandiser,
                &lead.sales,
                lead.delivery_day,
            ) || r.milestones != lead.milestones
        }) {
            fail(
                &mut summary,
                RowProblem::new(
                    "order_fields_differ",
                    format!(
                        "order {order_no} / {style_no}: row {n} gives other order fields or dates than row {first_row}"
                    ),
                )
                .with("order_no", &order_no)
                .with("style_no", &style_no)
                .with("other_row", n),
            );
            continue;
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some((n, r)) = group.iter().find(|(_, r)| !seen.insert(r.colour.clone())) {
            fail(
                &mut summary,
                RowProblem::new(
                    "colour_twice",
                    format!(
                        "row {n}: colour {:?} appears twice for this order",
                        r.colour
                    ),
                )
                .with("order_no", &order_no)
                .with("style_no", &style_no)
                .with("other_row", n)
                .with("colour", &r.colour),
            );
            continue;
        }
        let rows: Vec<SheetRow> = group.into_iter().map(|(_, r)| r).collect();
        let ctx = EditContext::new(user, now_ms);
        match find_order(storage, &order_no, &style_no) {
            Err(e) => fail(&mut summary, not_saved(e)),
            Ok(Some(doc)) => {
                let edit_rows = rows.clone();
                let edit_ctx = ctx.clone();
                let edited = sync
                    .edit(
                        doc,
                        user,
                        Box::new(move |record| apply_rows(record, &edit_rows, &edit_ctx)),
                    )
                    .await;
                match edited {
                    Ok(()) => summary.updated += 1,
                    Err(e) => fail(&mut summary, not_saved(e)),
                }
            }
            Ok(None) => {
                let first = &rows[0];
                let new = NewOrder {
                    order_no: first.order_no.clone(),
                    style_no: first.style_no.clone(),
                    customer: first.customer.clone(),
                    factory: first.factory.clone(),
                    merchandiser: first.merchandiser.clone(),
                    sales: first.sales.clone(),
                    delivery_ms: first.delivery_day.map_or(0, day_start_ms),
                    ..NewOrder::default()
                };
                let made = order::create(&new, actor_from_bytes(&random_bytes16()), &ctx)
                    .map_err(|e| e.to_string())
                    .and_then(|mut record| {
                        apply_rows(&mut record, &rows, &ctx)?;
                        Ok(record.save())
                    });
                let doc = DocumentId::from_bytes(random_bytes16());
                let stored = match made {
                    Ok(bytes) => sync.create(doc, bytes, user).await,
                    Err(e) => Err(e),
                };
                match stored {
                    Ok(()) => summary.created += 1,
                    Err(e) => fail(&mut summary, not_saved(e)),
                }
            }
        }
    }
    summary.errors.sort_by_key(|e| e.row);
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_text_serials_and_excel_dates() {
        assert_eq!(parse_date_text("1970-01-01"), Some(0));
        assert_eq!(parse_date_text("2026-11-27"), Some(20_784));
        assert_eq!(parse_date_text("2026/2/30"), None);
        assert_eq!(parse_date_text("27.11.2026"), None);
        assert_eq!(cell_day(&Data::Float(46_353.0)), Ok(Some(20_784)));
        assert_eq!(cell_day(&Data::Int(25_569)), Ok(Some(0)));
        assert_eq!(
            cell_day(&Data::String("2026-11-27".into())),
            Ok(Some(20_784))
        );
        assert_eq!(cell_day(&Data::Empty), Ok(None));
        assert!(cell_day(&Data::String("next week".into())).is_err());
        assert!(cell_day(&Data::Float(-3.0)).is_err());
    }

    #[test]
    fn headers_have_both_languages_and_every_template_step() {
        let (zh, en) = (headers(Lang::Zh), headers(Lang::En));
        assert_eq!(zh.len(), FIXED.len() + 2 * DEFAULT_TEMPLATE.len());
        assert_eq!(zh.len(), en.len());
        assert_eq!(zh[0], "订单号");
        assert_eq!(en[0], "Order no.");
        assert!(zh[FIXED.len()].ends_with("计划"), "{}", zh[FIXED.len()]);
        assert!(en[FIXED.len() + 1].ends_with("actual"));
    }

    fn row(order_no: &str, colour: &str, qty: i64) -> SheetRow {
        SheetRow {
            order_no: order_no.into(),
            style_no: "ST-1".into(),
            customer: "Acme".into(),
            factory: "F1".into(),
            merchandiser: "merch".into(),
            sales: "sales".into(),
            delivery_day: Some(20_800),
            colour: colour.into(),
            quantity: qty,
            milestones: DEFAULT_TEMPLATE
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    (
                        Some(20_700 + i as i64),
                        (i < 2).then_some(20_701 + i as i64),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_sheet_reads_back_what_was_written_in_either_language() {
        let rows = vec![row("SO-1", "navy", 1200), row("SO-1", "red", 800)];
        for lang in [Lang::Zh, Lang::En] {
            let bytes = write_sheet(&rows, lang).unwrap();
            let back: Vec<SheetRow> = read_sheet(&bytes)
                .unwrap()
                .into_iter()
                .map(|r| r.unwrap().1)
                .collect();
            assert_eq!(back, rows, "{lang:?}");
        }
    }

    #[test]
    fn bad_rows_are_reported_by_number_and_the_rest_read() {
        let mut rows = vec![
            row("SO-1", "navy", 10),
            row("", "red", 5),
            row("SO-2", "red", 5),
        ];
        rows[2].style_no = String::new();
        let bytes = write_sheet(&rows, Lang::Zh).unwrap();
        let read = read_sheet(&bytes).unwrap();
        assert!(read[0].is_ok());
        assert_eq!(read[1].as_ref().unwrap_err().row, 3);
        assert!(read[1].as_ref().unwrap_err().message.contains("订单号"));
        assert_eq!(read[2].as_ref().unwrap_err().row, 4);
        assert!(read[2].as_ref().unwrap_err().message.contains("款号"));
    }

    /// A sheet with English headers and one data row of `cells` (column index, text).
    fn sheet_of(cells: &[(u16, &str)]) -> Vec<u8> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for (c, h) in headers(Lang::En).iter().enumerate() {
            sheet.write_string(0, u16::try_from(c).unwrap(), h).unwrap();
        }
        for (c, text) in cells {
            sheet.write_string(1, *c, *text).unwrap();
        }
        workbook.save_to_buffer().unwrap()
    }

    #[test]
    fn each_refused_cell_is_named_by_a_code_its_column_and_value() {
        let refused = |cells: &[(u16, &str)]| -> RowError {
            let mut all = vec![(0, "SO-1"), (1, "ST-1")];
            all.extend_from_slice(cells);
            read_sheet(&sheet_of(&all)).unwrap().remove(0).unwrap_err()
        };
        let params =
            |e: &RowError| -> Vec<(String, String)> { e.params.clone().into_iter().collect() };
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());

        let date = refused(&[(6, "next week")]);
        assert_eq!((date.row, date.code), (2, "not_a_date"));
        assert_eq!(
            params(&date),
            [
                pair("column", "交货期"),
                pair("column_en", "Delivery date"),
                pair("value", "next week")
            ]
        );
        assert_eq!(
            date.message,
            "交货期: \"next week\" is not a date (use YYYY-MM-DD)"
        );
        let qty = refused(&[(8, "ten")]);
        assert_eq!(qty.code, "not_whole_number");
        assert_eq!(qty.params["value"], "ten");
        assert_eq!(qty.params["column_en"], "Quantity");
        let milestone = refused(&[(u16::try_from(FIXED.len()).unwrap(), "soon")]);
        assert_eq!(milestone.code, "not_a_date");
        assert!(
            milestone.params["column_en"].ends_with("planned"),
            "{milestone:?}"
        );
        let blank = read_sheet(&sheet_of(&[(1, "ST-1"), (2, "Acme")]))
            .unwrap()
            .remove(0)
            .unwrap_err();
        assert_eq!(blank.code, "required");
        assert_eq!(blank.params["column_en"], "Order no.");

        // A text cell of SHORT_TEXT_BYTES_MAX bytes reads; one byte more is refused.
        let longest = "c".repeat(SHORT_TEXT_BYTES_MAX);
        let read = read_sheet(&sheet_of(&[(0, "SO-1"), (1, "ST-1"), (2, &longest)])).unwrap();
        assert_eq!(read[0].as_ref().unwrap().1.customer, longest);
        let too_long = refused(&[(2, &format!("{longest}c"))]);
        assert_eq!(too_long.code, "text_too_long");
        assert_eq!(too_long.params["column_en"], "Customer");
        assert_eq!(
            too_long.params["bytes"],
            (SHORT_TEXT_BYTES_MAX + 1).to_string()
        );
        assert_eq!(too_long.params["max"], SHORT_TEXT_BYTES_MAX.to_string());
        for e in [date, qty, milestone, blank, too_long] {
            assert!(ROW_ERROR_CODES.contains(&e.code), "{e:?}");
        }
    }

    #[test]
    fn what_is_not_a_tracking_sheet_is_refused_whole() {
        assert!(matches!(
            read_sheet(b"not a workbook"),
            Err(SheetError::NotAWorkbook(_))
        ));
        let mut workbook = Workbook::new();
        workbook
            .add_worksheet()
            .write_string(0, 0, "something else")
            .unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let err = read_sheet(&bytes).unwrap_err();
        assert!(err.to_string().contains("订单号"), "{err}");
        assert!(matches!(
            read_sheet(&vec![0; IMPORT_BYTES_MAX + 1]),
            Err(SheetError::TooLarge(_))
        ));
    }

    #[test]
    fn a_sheet_over_import_rows_max_is_refused() {
        let rows: Vec<SheetRow> = (0..=IMPORT_ROWS_MAX)
            .map(|i| SheetRow {
                order_no: format!("SO-{i}"),
                style_no: "S".into(),
                milestones: vec![(None, None); DEFAULT_TEMPLATE.len()],
                ..SheetRow::default()
            })
            .collect();
        let bytes = write_sheet(&rows, Lang::En).unwrap();
        assert!(matches!(
            read_sheet(&bytes),
            Err(SheetError::TooManyRows(n)) if n == IMPORT_ROWS_MAX + 1
        ));
        assert_eq!(
            read_sheet(&write_sheet(&rows[1..], Lang::En).unwrap())
                .unwrap()
                .len(),
            IMPORT_ROWS_MAX
        );
    }
}
