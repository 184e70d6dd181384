//! Record summaries for office lists, search and dashboards (DESIGN §5): a small typed table
//! keyed by document id, with secondary indexes, updated in the same batch as every accepted
//! change, and rebuildable from the documents ([`Projections::clear`], then one
//! [`Projections::upsert`] per document).
//!
//! # Keys
//! - `ps/<doc>`: the [`RecordSummary`] as JSON (readable, tolerant of fields added later).
//! - `px/<field>/<value hex>/<doc>`: one empty-valued key per indexed value. The value is
//!   hex-encoded (so any text is safe in a key and byte order is kept) and cut to
//!   [`INDEX_VALUE_BYTES_MAX`] bytes before encoding; queries compare full values against the
//!   summary, so a cut value never gives a wrong answer. `due` is the big-endian due time, so
//!   its keys sort by date.
//!
//! # Queries
//! [`Projections::query`] walks one index when the filter names an indexed field (assignee,
//! then factory, status, type — the most selective first) and otherwise every summary; it
//! reads each candidate's summary and applies the whole filter, including the substring
//! search `q`. Results come in document-id order, which makes the cursor (`after`) stable.
//! One query examines at most [`QUERY_SCAN_ROWS_MAX`] candidates: below about 100k records
//! that is a full scan at worst; beyond it a page may come back short with a cursor to go on.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::docs;
use crate::store::{BATCH_OPS_MAX, Batch, SCAN_ROWS_MAX, Store, StoreError};

/// The most summaries one query returns.
pub const QUERY_LIMIT_MAX: usize = 500;
/// The page size when a query names none.
pub const QUERY_LIMIT_DEFAULT: usize = 50;
/// The most candidates one query examines before it returns what it has and a cursor.
pub const QUERY_SCAN_ROWS_MAX: usize = 100_000;
/// The longest search text, in bytes.
pub const QUERY_TEXT_BYTES_MAX: usize = 256;
/// The most assignees of one record.
pub const ASSIGNEES_MAX: usize = 100;
/// The largest summary, in bytes of JSON.
pub const SUMMARY_BYTES_MAX: usize = 64 * 1024;
/// Bytes of a value kept in an index key (longer values are cut; see the module docs).
pub const INDEX_VALUE_BYTES_MAX: usize = 200;

// Every index key of a summary at most: 8 single-valued fields and the assignees, each key
// fitting the store's key limit.
const _: () =
    assert!(crate::store::KEY_BYTES_MAX >= 16 + 2 * INDEX_VALUE_BYTES_MAX + docs::DOC_ID_BYTES_MAX);
const _: () = assert!(2 * (ASSIGNEES_MAX + 9) < BATCH_OPS_MAX);

/// Why a projection operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The summary's document id is not a valid document id.
    #[error("document id {0:?} is not valid")]
    BadId(String),
    /// The summary has more than [`ASSIGNEES_MAX`] assignees.
    #[error("a record with {count} assignees is over the limit of {max}")]
    TooManyAssignees {
        /// How many it has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The summary is larger than [`SUMMARY_BYTES_MAX`] as JSON.
    #[error("a summary of {len} bytes is over the limit of {max}")]
    SummaryTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The query asks for more than [`QUERY_LIMIT_MAX`] summaries.
    #[error("a page of {limit} records is over the limit of {max}")]
    LimitTooLarge {
        /// The page size asked for.
        limit: usize,
        /// The limit.
        max: usize,
    },
    /// The search text is longer than [`QUERY_TEXT_BYTES_MAX`].
    #[error("search text of {len} bytes is over the limit of {max}")]
    QueryTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A stored summary cannot be read: the store is damaged or from a newer build.
    #[error("the summary of {id} cannot be read; rebuild the projections")]
    Damaged {
        /// The document.
        id: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an office list shows of one record, taken from its document by the server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordSummary {
    /// The document id.
    pub id: String,
    /// The record type (`inspection`, `order`, …).
    pub record_type: String,
    /// A one-line title for lists.
    pub title: String,
    /// The record's status (`draft`, `submitted`, …).
    pub status: String,
    /// Order number (订单号).
    pub order_no: Option<String>,
    /// Style number (款号).
    pub style_no: Option<String>,
    /// Customer.
    pub customer: Option<String>,
    /// Factory.
    pub factory: Option<String>,
    /// Warehouse.
    pub warehouse: Option<String>,
    /// Users the record is assigned to.
    pub assignees: Vec<String>,
    /// When it is due, in milliseconds since the Unix epoch.
    pub due_ms: Option<u64>,
    /// When it last changed, in milliseconds since the Unix epoch.
    pub updated_ms: u64,
    /// The derived verdict, if the record has one (`accept`, `reject`, …).
    pub verdict: Option<String>,
}

/// The indexed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexField {
    /// [`RecordSummary::record_type`].
    RecordType,
    /// [`RecordSummary::status`].
    Status,
    /// [`RecordSummary::order_no`].
    OrderNo,
    /// [`RecordSummary::style_no`].
    StyleNo,
    /// [`RecordSummary::customer`].
    Customer,
    /// [`RecordSummary::factory`].
    Factory,
    /// [`RecordSummary::warehouse`].
    Warehouse,
    /// Each of [`RecordSummary::assignees`].
    Assignee,
}

impl IndexField {
    fn name(self) -> &'static str {
        match self {
            IndexField::RecordType => "type",
            IndexField::Status => "status",
            IndexField::OrderNo => "order",
            IndexField::StyleNo => "style",
            IndexField::Customer => "customer",
            IndexField::Factory => "factory",
            IndexField::Warehouse => "warehouse",
            IndexField::Assignee => "assignee",
        }
    }
}

/// Which summaries a query wants; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Exactly this record type.
    pub record_type: Option<String>,
    /// Exactly this status.
    pub status: Option<String>,
    /// Case-insensitive substring of the order no., style no., customer, factory or title.
    pub q: Option<String>,
    /// Assigned to this user.
    pub assignee: Option<String>,
    /// Exactly this factory.
    pub factory: Option<String>,
    /// Page size, [`QUERY_LIMIT_DEFAULT`] when absent, at most [`QUERY_LIMIT_MAX`].
    pub limit: Option<usize>,
    /// Cursor: only documents whose id sorts after this one.
    pub after: Option<String>,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// Matching summaries in document-id order.
    pub items: Vec<RecordSummary>,
    /// Pass as [`Filter::after`] for the next page; `None` when there is no more. The next
    /// page may turn out empty.
    pub next: Option<String>,
}

/// Record summaries and their indexes, over a [`Store`].
#[derive(Debug, Clone)]
pub struct Projections {
    store: Arc<dyn Store>,
}

impl Projections {
    /// Projections in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Adds to `batch` the new summary and its index keys, and the removal of the index keys
    /// of the summary it replaces (as stored, or as added earlier to the same batch).
    pub fn upsert(
        &self,
        batch: &mut Batch,
        summary: &RecordSummary,
    ) -> Result<(), ProjectionError> {
        check_id(&summary.id)?;
        if summary.assignees.len() > ASSIGNEES_MAX {
            return Err(ProjectionError::TooManyAssignees {
                count: summary.assignees.len(),
                max: ASSIGNEES_MAX,
            });
        }
        let value = serde_json::to_vec(summary).map_err(|_| ProjectionError::Damaged {
            id: summary.id.clone(),
        })?;
        if value.len() > SUMMARY_BYTES_MAX {
            return Err(ProjectionError::SummaryTooLarge {
                len: value.len(),
                max: SUMMARY_BYTES_MAX,
            });
        }
        let new_keys = index_keys(summary);
        // Only the index keys that change are written: most updates (a tally, a new defect)
        // keep every key, and each write costs the store a new node version in memory.
        let old_keys = match self.current(batch, &summary.id)? {
            Some(old) => index_keys(&old),
            None => BTreeSet::new(),
        };
        for key in old_keys.difference(&new_keys) {
            batch.delete(key.clone());
        }
        for key in new_keys.difference(&old_keys) {
            batch.put(key.clone(), Vec::new());
        }
        batch.put(summary_key(&summary.id), value);
        Ok(())
    }

    /// Adds to `batch` the removal of the summary of `id` and its index keys.
    pub fn remove(&self, batch: &mut Batch, id: &str) -> Result<(), ProjectionError> {
        check_id(id)?;
        if let Some(old) = self.current(batch, id)? {
            for key in index_keys(&old) {
                batch.delete(key);
            }
        }
        batch.delete(summary_key(id));
        Ok(())
    }

    /// The summary of `id`, if any.
    pub fn get(&self, id: &str) -> Result<Option<RecordSummary>, ProjectionError> {
        check_id(id)?;
        self.store
            .get(&summary_key(id))?
            .map(|value| decode(id, &value))
            .transpose()
    }

    /// One page of the summaries that match `filter`.
    pub fn query(&self, filter: &Filter) -> Result<Page, ProjectionError> {
        let limit = filter.limit.unwrap_or(QUERY_LIMIT_DEFAULT);
        if limit > QUERY_LIMIT_MAX {
            return Err(ProjectionError::LimitTooLarge {
                limit,
                max: QUERY_LIMIT_MAX,
            });
        }
        let q = match &filter.q {
            Some(q) if q.len() > QUERY_TEXT_BYTES_MAX => {
                return Err(ProjectionError::QueryTooLong {
                    len: q.len(),
                    max: QUERY_TEXT_BYTES_MAX,
                });
            }
            Some(q) if !q.trim().is_empty() => Some(q.trim().to_lowercase()),
            _ => None,
        };
        let driver = [
            (IndexField::Assignee, &filter.assignee),
            (IndexField::Factory, &filter.factory),
            (IndexField::Status, &filter.status),
            (IndexField::RecordType, &filter.record_type),
        ]
        .into_iter()
        .find_map(|(field, value)| value.as_deref().map(|value| (field, value)));

        let mut items = Vec::new();
        let mut after = filter.after.clone();
        let mut examined = 0;
        if limit == 0 {
            return Ok(Page { items, next: after });
        }
        loop {
            let batch_size = SCAN_ROWS_MAX.min(QUERY_SCAN_ROWS_MAX - examined);
            let candidates: Vec<(String, Option<RecordSummary>)> = match driver {
                Some((field, value)) => {
                    let ids = self.ids_by(field, value, after.as_deref(), batch_size)?;
                    ids.into_iter().map(|id| (id, None)).collect()
                }
                None => self.summaries(after.as_deref(), batch_size)?,
            };
            let exhausted = candidates.len() < batch_size;
            for (id, summary) in candidates {
                examined += 1;
                after = Some(id.clone());
                let summary = match summary {
                    Some(summary) => Some(summary),
                    None => self.get(&id)?,
                };
                if let Some(summary) = summary
                    && matches(&summary, filter, q.as_deref())
                {
                    items.push(summary);
                    if items.len() == limit {
                        return Ok(Page { items, next: after });
                    }
                }
            }
            if exhausted {
                return Ok(Page { items, next: None });
            }
            if examined >= QUERY_SCAN_ROWS_MAX {
                return Ok(Page { items, next: after });
            }
        }
    }

    /// At most `limit` (≤ [`SCAN_ROWS_MAX`]) ids of documents whose `field` is `value` (for
    /// [`IndexField::Assignee`]: assigned to `value`), in id order, after id `after`. For a
    /// value longer than [`INDEX_VALUE_BYTES_MAX`] the ids of longer values that share its
    /// start come too: check the summaries.
    pub fn ids_by(
        &self,
        field: IndexField,
        value: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, ProjectionError> {
        let prefix = index_prefix(field.name(), value.as_bytes());
        self.index_ids(&prefix, after, limit)
    }

    /// At most `limit` documents with a due date, soonest first, as `(due_ms, id)`, after
    /// `after` (the last pair of the previous page) and due before `until_ms`.
    pub fn due_before(
        &self,
        until_ms: u64,
        after: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, ProjectionError> {
        let prefix = format!("px/{DUE}/").into_bytes();
        let after = after.map(|(due_ms, id)| due_key(due_ms, id));
        let keys = self
            .store
            .scan_prefix_keys(&prefix, after.as_deref(), limit)?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let rest = &key[prefix.len()..];
            let parsed = rest.split_at_checked(16).and_then(|(due, id)| {
                let due = hex::decode(due)
                    .ok()?
                    .try_into()
                    .ok()
                    .map(u64::from_be_bytes)?;
                let id = std::str::from_utf8(id.strip_prefix(b"/")?).ok()?;
                Some((due, id.to_string()))
            });
            let Some((due_ms, id)) = parsed else {
                return Err(ProjectionError::Damaged {
                    id: crate::store::printable(&key),
                });
            };
            if due_ms >= until_ms {
                break;
            }
            found.push((due_ms, id));
        }
        Ok(found)
    }

    /// Removes every summary and index key (before a rebuild), in batches; returns how many
    /// keys were removed. Not atomic: a rebuild that stops halfway is started again.
    pub fn clear(&self) -> Result<u64, ProjectionError> {
        let mut removed = 0;
        for prefix in [SUMMARY_PREFIX, INDEX_PREFIX] {
            loop {
                let keys = self.store.scan_prefix_keys(prefix, None, SCAN_ROWS_MAX)?;
                if keys.is_empty() {
                    break;
                }
                removed += keys.len() as u64;
                let mut batch = Batch::new();
                for key in keys {
                    batch.delete(key);
                }
                self.store.apply(batch)?;
            }
        }
        Ok(removed)
    }

    /// The summary of `id` as `batch` will leave it, or as stored.
    fn current(&self, batch: &Batch, id: &str) -> Result<Option<RecordSummary>, ProjectionError> {
        match batch.pending(&summary_key(id)) {
            Some(Some(value)) => decode(id, value).map(Some),
            Some(None) => Ok(None),
            None => self.get(id),
        }
    }

    /// Summaries in id order after `after`.
    fn summaries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Option<RecordSummary>)>, ProjectionError> {
        let after = after.map(summary_key);
        let rows = self
            .store
            .scan_prefix_after(SUMMARY_PREFIX, after.as_deref(), limit)?;
        rows.into_iter()
            .map(|(key, value)| {
                let id = String::from_utf8_lossy(&key[SUMMARY_PREFIX.len()..]).into_owned();
                let summary = decode(&id, &value)?;
                Ok((id, Some(summary)))
            })
            .collect()
    }

    /// Document ids under an index prefix, after id `after`.
    fn index_ids(
        &self,
        prefix: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, ProjectionError> {
        let after = after.map(|id| [prefix, id.as_bytes()].concat());
        let keys = self
            .store
            .scan_prefix_keys(prefix, after.as_deref(), limit)?;
        Ok(keys
            .into_iter()
            .map(|key| String::from_utf8_lossy(&key[prefix.len()..]).into_owned())
            .collect())
    }
}

/// Whether `summary` satisfies every part of `filter`; `q` is already lowercase.
fn matches(summary: &RecordSummary, filter: &Filter, q: Option<&str>) -> bool {
    let same = |wanted: &Option<String>, have: Option<&str>| {
        wanted.as_deref().is_none_or(|wanted| Some(wanted) == have)
    };
    same(&filter.record_type, Some(&summary.record_type))
        && same(&filter.status, Some(&summary.status))
        && same(&filter.factory, summary.factory.as_deref())
        && filter
            .assignee
            .as_ref()
            .is_none_or(|wanted| summary.assignees.contains(wanted))
        && q.is_none_or(|q| {
            [
                summary.order_no.as_deref(),
                summary.style_no.as_deref(),
                summary.customer.as_deref(),
                summary.factory.as_deref(),
                Some(summary.title.as_str()),
            ]
            .into_iter()
            .flatten()
            .any(|text| text.to_lowercase().contains(q))
        })
}

const SUMMARY_PREFIX: &[u8] = b"ps/";
const INDEX_PREFIX: &[u8] = b"px/";
/// The index name of [`RecordSummary::due_ms`].
const DUE: &str = "due";

fn summary_key(id: &str) -> Vec<u8> {
    [SUMMARY_PREFIX, id.as_bytes()].concat()
}

/// `px/<field>/<value hex>/`, the value cut to [`INDEX_VALUE_BYTES_MAX`].
fn index_prefix(field: &str, value: &[u8]) -> Vec<u8> {
    let value = &value[..value.len().min(INDEX_VALUE_BYTES_MAX)];
    format!("px/{field}/{}/", hex::encode(value)).into_bytes()
}

fn due_key(due_ms: u64, id: &str) -> Vec<u8> {
    [&index_prefix(DUE, &due_ms.to_be_bytes()), id.as_bytes()].concat()
}

/// Every index key of `summary`.
fn index_keys(summary: &RecordSummary) -> BTreeSet<Vec<u8>> {
    let id = summary.id.as_bytes();
    let mut keys = BTreeSet::new();
    let mut add = |field: IndexField, value: &str| {
        keys.insert([index_prefix(field.name(), value.as_bytes()).as_slice(), id].concat());
    };
    add(IndexField::RecordType, &summary.record_type);
    add(IndexField::Status, &summary.status);
    for (field, value) in [
        (IndexField::OrderNo, &summary.order_no),
        (IndexField::StyleNo, &summary.style_no),
        (IndexField::Customer, &summary.customer),
        (IndexField::Factory, &summary.factory),
        (IndexField::Warehouse, &summary.warehouse),
    ] {
        if let Some(value) = value {
            add(field, value);
        }
    }
    for assignee in &summary.assignees {
        add(IndexField::Assignee, assignee);
    }
    if let Some(due_ms) = summary.due_ms {
        keys.insert(due_key(due_ms, &summary.id));
    }
    keys
}

fn check_id(id: &str) -> Result<(), ProjectionError> {
    if docs::is_valid_id(id) {
        Ok(())
    } else {
        Err(ProjectionError::BadId(id.to_string()))
    }
}

fn decode(id: &str, value: &[u8]) -> Result<RecordSummary, ProjectionError> {
    serde_json::from_slice(value).map_err(|_| ProjectionError::Damaged { id: id.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn summary(id: &str, record_type: &str, status: &str, assignees: &[&str]) -> RecordSummary {
        RecordSummary {
            id: id.into(),
            record_type: record_type.into(),
            title: format!("Inspection {id}"),
            status: status.into(),
            order_no: Some(format!("PO-{id}")),
            style_no: Some("ST-88".into()),
            customer: Some("Nordic Outdoor AB".into()),
            factory: Some("Ningbo Knit".into()),
            warehouse: None,
            assignees: assignees.iter().map(|a| a.to_string()).collect(),
            due_ms: Some(1_000),
            updated_ms: 5,
            verdict: None,
        }
    }

    fn setup() -> (Arc<MemoryStore>, Projections) {
        let store = Arc::new(MemoryStore::new());
        (store.clone(), Projections::new(store))
    }

    fn upsert(p: &Projections, s: &RecordSummary) {
        let mut batch = Batch::new();
        p.upsert(&mut batch, s).unwrap();
        p.store.apply(batch).unwrap();
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.items.iter().map(|s| s.id.as_str()).collect()
    }

    fn query(p: &Projections, filter: Filter) -> Page {
        p.query(&filter).unwrap()
    }

    #[test]
    fn filters_by_index_and_search_text() {
        let (_, p) = setup();
        upsert(&p, &summary("a", "inspection", "draft", &["li"]));
        upsert(
            &p,
            &summary("b", "inspection", "submitted", &["li", "wang"]),
        );
        upsert(&p, &summary("c", "order", "open", &["wang"]));
        let mut d = summary("d", "inspection", "draft", &[]);
        d.customer = Some("Hamburg Mode GmbH".into());
        d.factory = Some("Dongguan Shoes".into());
        upsert(&p, &d);

        let all = query(&p, Filter::default());
        assert_eq!(ids(&all), ["a", "b", "c", "d"]);
        assert_eq!(all.next, None);
        let by_type = Filter {
            record_type: Some("inspection".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&query(&p, by_type.clone())), ["a", "b", "d"]);
        let li_drafts = Filter {
            assignee: Some("li".into()),
            status: Some("draft".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&query(&p, li_drafts)), ["a"]);
        let search = Filter {
            q: Some("  hamburg ".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&query(&p, search)), ["d"]);
        let by_order = Filter {
            q: Some("po-c".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&query(&p, by_order)), ["c"]);
        let factory = Filter {
            factory: Some("Ningbo Knit".into()),
            record_type: Some("inspection".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&query(&p, factory)), ["a", "b"]);

        // Pages of 2 with the cursor.
        let first = query(
            &p,
            Filter {
                limit: Some(2),
                ..by_type.clone()
            },
        );
        assert_eq!(ids(&first), ["a", "b"]);
        let second = query(
            &p,
            Filter {
                limit: Some(2),
                after: first.next,
                ..by_type
            },
        );
        assert_eq!(ids(&second), ["d"]);
        assert_eq!(second.next, None);
        assert_eq!(
            p.ids_by(IndexField::StyleNo, "ST-88", None, 10)
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn an_upsert_writes_only_the_index_keys_that_change() {
        let (store, p) = setup();
        let first = summary("a", "inspection", "draft", &["li"]);
        let mut batch = Batch::new();
        p.upsert(&mut batch, &first).unwrap();
        let all = batch.len();
        store.apply(batch).unwrap();
        // The same summary again: the summary itself, no index key.
        let mut batch = Batch::new();
        p.upsert(&mut batch, &first).unwrap();
        assert_eq!((batch.len(), all > 3), (1, true));
        // A new status: the summary, the old status key out, the new one in.
        let mut batch = Batch::new();
        p.upsert(&mut batch, &summary("a", "inspection", "review", &["li"]))
            .unwrap();
        assert_eq!(batch.len(), 3);
        store.apply(batch).unwrap();
        assert_eq!(
            p.ids_by(IndexField::Status, "review", None, 10).unwrap(),
            ["a"]
        );
        assert_eq!(
            p.ids_by(IndexField::Assignee, "li", None, 10).unwrap(),
            ["a"]
        );
    }

    #[test]
    fn an_upsert_moves_the_index_keys() {
        let (store, p) = setup();
        upsert(&p, &summary("a", "inspection", "draft", &["li"]));
        let mut changed = summary("a", "inspection", "submitted", &["wang"]);
        changed.due_ms = None;
        // Two upserts of one document in one batch: the second sees the first.
        let mut batch = Batch::new();
        p.upsert(&mut batch, &summary("a", "inspection", "review", &["zhao"]))
            .unwrap();
        p.upsert(&mut batch, &changed).unwrap();
        store.apply(batch).unwrap();

        let drafts = Filter {
            status: Some("draft".into()),
            ..Filter::default()
        };
        assert!(query(&p, drafts).items.is_empty());
        assert!(
            p.ids_by(IndexField::Status, "review", None, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            p.ids_by(IndexField::Assignee, "li", None, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            p.ids_by(IndexField::Assignee, "zhao", None, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            p.ids_by(IndexField::Assignee, "wang", None, 10).unwrap(),
            ["a"]
        );
        assert!(p.due_before(u64::MAX, None, 10).unwrap().is_empty());
        assert_eq!(p.get("a").unwrap(), Some(changed));

        let mut batch = Batch::new();
        p.remove(&mut batch, "a").unwrap();
        store.apply(batch).unwrap();
        assert_eq!(store.scan_prefix(b"p", 100).unwrap(), []);
    }

    #[test]
    fn due_dates_sort_by_time() {
        let (_, p) = setup();
        for (id, due) in [("a", 300u64), ("b", 100), ("c", 200), ("d", 70_000_000_000)] {
            let mut s = summary(id, "order", "open", &[]);
            s.due_ms = Some(due);
            upsert(&p, &s);
        }
        let soon = p.due_before(250, None, 10).unwrap();
        assert_eq!(soon, [(100, "b".to_string()), (200, "c".to_string())]);
        let next = p.due_before(u64::MAX, Some((200, "c")), 10).unwrap();
        assert_eq!(
            next,
            [(300, "a".to_string()), (70_000_000_000, "d".to_string())]
        );
    }

    #[test]
    fn long_values_are_cut_in_the_index_but_matched_in_full() {
        let (_, p) = setup();
        let long = "x".repeat(INDEX_VALUE_BYTES_MAX);
        let mut a = summary("a", "order", "open", &[]);
        a.factory = Some(format!("{long}-one"));
        let mut b = summary("b", "order", "open", &[]);
        b.factory = Some(format!("{long}-two"));
        upsert(&p, &a);
        upsert(&p, &b);
        let page = query(
            &p,
            Filter {
                factory: Some(format!("{long}-two")),
                ..Filter::default()
            },
        );
        assert_eq!(ids(&page), ["b"]);
    }

    #[test]
    fn clear_removes_everything() {
        let (store, p) = setup();
        for i in 0..50 {
            upsert(&p, &summary(&format!("d{i}"), "order", "open", &["li"]));
        }
        store.put(b"dm/d1", b"not a projection").unwrap();
        assert!(p.clear().unwrap() > 50);
        assert!(query(&p, Filter::default()).items.is_empty());
        assert_eq!(store.scan_prefix(b"p", 10).unwrap(), []);
        assert!(store.get(b"dm/d1").unwrap().is_some());
    }

    #[test]
    fn limits_are_kept() {
        let (_, p) = setup();
        let mut batch = Batch::new();
        let names: Vec<String> = (0..=ASSIGNEES_MAX).map(|i| format!("u{i}")).collect();
        let mut s = summary("a", "order", "open", &[]);
        s.assignees = names.clone();
        assert!(matches!(
            p.upsert(&mut batch, &s),
            Err(ProjectionError::TooManyAssignees { .. })
        ));
        s.assignees.pop();
        p.upsert(&mut batch, &s).unwrap();
        s.title = "t".repeat(SUMMARY_BYTES_MAX);
        assert!(matches!(
            p.upsert(&mut batch, &s),
            Err(ProjectionError::SummaryTooLarge { .. })
        ));
        s.id = "a/b".into();
        assert!(matches!(
            p.upsert(&mut batch, &s),
            Err(ProjectionError::BadId(_))
        ));
        let big = Filter {
            limit: Some(QUERY_LIMIT_MAX + 1),
            ..Filter::default()
        };
        assert!(matches!(
            p.query(&big),
            Err(ProjectionError::LimitTooLarge { .. })
        ));
        p.query(&Filter {
            limit: Some(QUERY_LIMIT_MAX),
            ..Filter::default()
        })
        .unwrap();
        let long = Filter {
            q: Some("q".repeat(QUERY_TEXT_BYTES_MAX + 1)),
            ..Filter::default()
        };
        assert!(matches!(
            p.query(&long),
            Err(ProjectionError::QueryTooLong { .. })
        ));
    }

    #[test]
    fn a_query_stops_after_query_scan_rows_max_candidates_with_a_cursor() {
        let (store, p) = setup();
        // QUERY_SCAN_ROWS_MAX non-matching summaries, then one match.
        let value = serde_json::to_vec(&summary("x", "order", "open", &[])).unwrap();
        let mut batch = Batch::new();
        for i in 0..QUERY_SCAN_ROWS_MAX {
            batch.put(summary_key(&format!("a{i:06}")), value.clone());
            if batch.len() == BATCH_OPS_MAX {
                store.apply(std::mem::take(&mut batch)).unwrap();
            }
        }
        store.apply(batch).unwrap();
        upsert(&p, &summary("z", "inspection", "open", &[]));
        let filter = Filter {
            q: Some("inspection z".into()),
            ..Filter::default()
        };
        let first = query(&p, filter.clone());
        assert!(first.items.is_empty());
        assert_eq!(first.next.as_deref(), Some("a099999"));
        let second = query(
            &p,
            Filter {
                after: first.next,
                ..filter
            },
        );
        assert_eq!(ids(&second), ["z"]);
        assert_eq!(second.next, None);
    }
}
