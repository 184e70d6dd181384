//! The summary of a record that work lists, the per-user index and office search show —
//! derived from the record, never stored in it.

use automerge::{AutoCommit, ROOT, transaction::Transactable};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::EditContext;
use crate::ops::{Viewer, view_json};
use crate::record::{Record, RecordError, RecordType, ensure_map};

/// What a list shows of a record. (Fields an older entry lacks read as empty.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
#[serde(default)]
pub struct Summary {
    /// The record type.
    pub record_type: String,
    /// A title for lists.
    pub title: String,
    /// Status, e.g. `open`, `in_progress`, `signed`, `submitted`, `approved`.
    pub status: String,
    /// The verdict, where the record has one.
    pub verdict: String,
    /// Order number.
    pub order_no: String,
    /// Style number.
    pub style_no: String,
    /// PO number.
    pub po_no: String,
    /// Customer.
    pub customer: String,
    /// Factory.
    pub factory: String,
    /// Warehouse.
    pub warehouse: String,
    /// Assigned users.
    pub assignees: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// Due date, ms since the epoch (0 = none).
    pub due_ms: i64,
}

fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string()
}

/// The office view every summary and blob list is read from.
fn office_view(record: &Record) -> Result<serde_json::Value, RecordError> {
    view_json(
        record,
        Viewer {
            user: "",
            office: true,
        },
    )
}

/// Summarises a record of any type.
pub fn summarize(record: &Record) -> Result<Summary, RecordError> {
    Ok(summary_of_view(record.record_type(), &office_view(record)?))
}

/// A record's summary and the blobs it references, from one reading of the record (the
/// server keeps both up to date for every changed record; reading it is the cost).
pub fn catalog(
    record: &Record,
) -> Result<(Summary, std::collections::BTreeSet<String>), RecordError> {
    let view = office_view(record)?;
    Ok((
        summary_of_view(record.record_type(), &view),
        blobs_of_view(&view),
    ))
}

fn summary_of_view(record_type: RecordType, view: &serde_json::Value) -> Summary {
    let r = &view["record"];
    let d = &view["derived"];
    let due_ms = ["due_ms", "delivery_ms", "ex_factory_ms"]
        .iter()
        .find_map(|k| {
            r.get(*k)
                .and_then(serde_json::Value::as_i64)
                .filter(|v| *v != 0)
        })
        .unwrap_or(0);
    let status = match record_type {
        RecordType::Order | RecordType::OrderCommercial => "open".to_string(),
        RecordType::PurchaseOrder => {
            if r.get("released_ms")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0)
                > 0
            {
                "released".into()
            } else {
                "draft".into()
            }
        }
        _ => text(d, "status"),
    };
    let mut title = text(r, "title");
    if title.is_empty() {
        title = match record_type {
            RecordType::Approval => text(r, "subject"),
            RecordType::PurchaseOrder => text(r, "po_no"),
            _ => [text(r, "order_no"), text(r, "style_no")]
                .iter()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" / "),
        };
    }
    Summary {
        record_type: record_type.to_string(),
        title,
        status,
        verdict: text(d, "verdict"),
        order_no: text(r, "order_no"),
        style_no: text(r, "style_no"),
        po_no: text(r, "po_no"),
        customer: text(r, "customer"),
        factory: text(r, "factory"),
        warehouse: text(r, "warehouse"),
        assignees: r
            .get("assignees")
            .and_then(|a| a.as_object())
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.as_bool() == Some(true))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default(),
        created_by: text(r, "created_by"),
        due_ms,
    }
}

/// The blobs (photos, signatures, pictures) a record references, by SHA-256: whoever may
/// read the record may read these.
pub fn referenced_blobs(
    record: &Record,
) -> Result<std::collections::BTreeSet<String>, RecordError> {
    Ok(blobs_of_view(&office_view(record)?))
}

fn blobs_of_view(view: &serde_json::Value) -> std::collections::BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if matches!(k.as_str(), "sha256" | "signature_sha256")
                        && let Some(h) = x.as_str()
                        && crate::common::is_sha256_hex(h)
                    {
                        out.insert(h.to_string());
                    }
                    walk(x, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(&view["record"], &mut out);
    out
}

/// Creates `owner`'s index document: the records in their scope with their summaries,
/// written only by the server (clients may read it, never change it).
pub fn new_index(
    owner: &str,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<AutoCommit, RecordError> {
    let mut doc = AutoCommit::new().with_actor(actor);
    doc.put(ROOT, "type", RecordType::UserIndex.as_str())?;
    doc.put(
        ROOT,
        "schema",
        RecordType::UserIndex.current_schema() as i64,
    )?;
    doc.put(ROOT, "owner", owner)?;
    ensure_map(&mut doc, &ROOT, "records")?;
    doc.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message("server: create index")
            .with_time(ctx.now_ms / 1000),
    );
    Ok(doc)
}

/// Puts (or updates) a record's entry in an index document: its summary as one JSON text.
///
/// One value per entry rather than a map of fields: the server writes an entry for every
/// user who may see a new record, and a map of fields cost Automerge a map and a dozen
/// operations spliced into an index of thousands of entries (a fifth of the server's CPU
/// when devices pushed new records; BENCHMARKS.md). Entries an older server wrote as maps
/// still read ([`index_entry`]) and are replaced by text at their next update. An entry
/// that already holds this summary is left as it is.
pub fn index_put(
    doc: &mut AutoCommit,
    record_id: &str,
    summary: &Summary,
) -> Result<(), RecordError> {
    use automerge::ReadDoc;
    let records = ensure_map(doc, &ROOT, "records")?;
    let text = serde_json::to_string(summary).map_err(|e| {
        RecordError::Invalid(vec![crate::common::Problem::new("summary", e.to_string())])
    })?;
    if let Ok(Some((automerge::Value::Scalar(v), _))) = doc.get(&records, record_id)
        && v.as_str() == Some(text.as_str())
    {
        return Ok(());
    }
    doc.put(&records, record_id, text)?;
    Ok(())
}

/// Removes a record from an index document (it left the owner's scope).
pub fn index_remove(doc: &mut AutoCommit, record_id: &str) -> Result<(), RecordError> {
    let records = ensure_map(doc, &ROOT, "records")?;
    doc.delete(&records, record_id)?;
    Ok(())
}

/// A record's entry in an index document, if it lists the record (as JSON text, or as a
/// map of fields written by an older server).
pub fn index_entry<D: automerge::ReadDoc + autosurgeon::ReadDoc>(
    doc: &D,
    record_id: &str,
) -> Option<Summary> {
    let (_, records) = automerge::ReadDoc::get(doc, ROOT, "records").ok()??;
    entry_at(doc, &records, record_id)
}

fn entry_at<D: automerge::ReadDoc + autosurgeon::ReadDoc>(
    doc: &D,
    records: &automerge::ObjId,
    record_id: &str,
) -> Option<Summary> {
    match automerge::ReadDoc::get(doc, records, record_id).ok()?? {
        (automerge::Value::Scalar(v), _) => serde_json::from_str(v.as_str()?).ok(),
        (automerge::Value::Object(_), _) => {
            autosurgeon::hydrate_prop::<_, Option<Summary>, _, _>(doc, records, record_id).ok()?
        }
    }
}

/// Every entry of an index document that reads as a summary, by record id (an entry
/// written by a newer server that does not read is left out rather than failing the list).
pub fn index_entries<D: automerge::ReadDoc + autosurgeon::ReadDoc>(
    doc: &D,
) -> Vec<(String, Summary)> {
    let Ok(Some((automerge::Value::Object(automerge::ObjType::Map), records))) =
        automerge::ReadDoc::get(doc, ROOT, "records")
    else {
        return Vec::new();
    };
    automerge::ReadDoc::keys(doc, &records)
        .filter_map(|id| entry_at(doc, &records, &id).map(|s| (id, s)))
        .collect()
}

/// The record ids an index document lists.
pub fn index_ids(doc: &AutoCommit) -> Vec<String> {
    use automerge::ReadDoc;
    match doc.get(ROOT, "records") {
        Ok(Some((automerge::Value::Object(automerge::ObjType::Map), obj))) => {
            doc.keys(&obj).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::EditContext;
    use crate::inspection::{self, NewInspection};
    use crate::record::actor_from_bytes;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn inspection_summary() {
        let new = NewInspection {
            order_no: "SO-1".into(),
            style_no: "ST-2".into(),
            factory: "F".into(),
            lot_size: 100,
            due_ms: 77,
            assignees: vec!["qc1".into()],
            ..NewInspection::default()
        };
        let r = inspection::create(&new, actor_from_bytes(&[1; 16]), &EditContext::new("m", 1))
            .unwrap();
        let s = summarize(&r).unwrap();
        assert_eq!(s.record_type, "inspection");
        assert_eq!(s.title, "SO-1 / ST-2");
        assert_eq!(s.status, "open");
        assert_eq!(s.verdict, "pass");
        assert_eq!(s.assignees, vec!["qc1".to_string()]);
        assert_eq!(
            (s.due_ms, s.created_by.as_str(), s.factory.as_str()),
            (77, "m", "F")
        );
        let mut index =
            new_index("qc1", actor_from_bytes(&[2; 16]), &EditContext::new("m", 1)).unwrap();
        assert_eq!(index_entry(&index, "r1"), None);
        index_put(&mut index, "r1", &s).unwrap();
        assert_eq!(index_entry(&index, "r1"), Some(s));
        index_remove(&mut index, "r1").unwrap();
        assert_eq!(index_entry(&index, "r1"), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn index_entries_are_one_text_and_old_maps_still_read() {
        let ctx = EditContext::new("m", 1);
        let mut index = new_index("qc1", actor_from_bytes(&[2; 16]), &ctx).unwrap();
        let a = Summary {
            record_type: "inspection".into(),
            title: "SO-1".into(),
            status: "open".into(),
            assignees: vec!["qc1".into()],
            due_ms: 5,
            ..Summary::default()
        };
        // An entry as an older server wrote it: a map of fields.
        let records = ensure_map(&mut index, &ROOT, "records").unwrap();
        autosurgeon::reconcile_prop(&mut index, &records, "old", &a).unwrap();
        index.commit();
        assert_eq!(index_entry(&index, "old"), Some(a.clone()));
        // New entries: one text value; the same summary again adds nothing.
        index_put(&mut index, "new", &a).unwrap();
        index.commit();
        let heads = index.get_heads();
        index_put(&mut index, "new", &a).unwrap();
        index.commit();
        assert_eq!(
            index.get_heads(),
            heads,
            "an unchanged entry is not written"
        );
        assert!(matches!(
            automerge::ReadDoc::get(&index, &records, "new"),
            Ok(Some((automerge::Value::Scalar(_), _)))
        ));
        // An update replaces an old map by text.
        let b = Summary {
            status: "signed".into(),
            ..a.clone()
        };
        index_put(&mut index, "old", &b).unwrap();
        assert_eq!(index_entry(&index, "old"), Some(b.clone()));
        // Listing reads both kinds, and leaves out what does not read as a summary.
        index.put(&records, "bad", "not json").unwrap();
        let mut all = index_entries(&index);
        all.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(all, vec![("new".to_string(), a), ("old".to_string(), b)]);
        assert_eq!(index_ids(&index).len(), 3);
    }
}
