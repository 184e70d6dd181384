//! A small language of raw Automerge edits, decoded from fuzz input with `arbitrary`: puts,
//! deletes, counter increments, list inserts and text splices at paths built from the keys
//! Gendan's records use (scope keys such as `assignees` and `type` among them), made
//! straight on the document as a hostile or buggy device could, bypassing the record
//! layer's operations. Shared by the `write_check` and `hub` targets.
//!
//! Also: [`flatten`], a dump of a document's visible state (with conflicting values) path
//! by path, which the targets' oracles compare before and after a change set, so that they
//! do not depend on the code under test (`changed_paths`) to know what changed.

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};

/// The keys edits choose from: what the records hold, plus entry keys of the fuzz users.
pub const KEYS: &[&str] = &[
    // Record header: identity and scope.
    "type",
    "schema",
    "created_by",
    "created_at_ms",
    "assignees",
    "factory",
    "warehouse",
    // Inspection.
    "title",
    "remarks",
    "lot_size",
    "aql",
    "level",
    "defects",
    "d1",
    "qty",
    "class",
    "voided",
    "checklist",
    "packaging",
    "result",
    "sign_off",
    "override",
    "heads",
    // Stock count.
    "lines",
    "l1",
    "l2",
    "entries",
    "expected",
    "round",
    "safety_stock",
    "sku",
    "submissions",
    // Approval.
    "decisions",
    "steps",
    "status",
    // Users, and per-user entry keys (`{round}:{user}`, `{step}:{user}`).
    "office",
    "qc1",
    "qc2",
    "c1",
    "c2",
    "m1",
    "1:c1",
    "1:c2",
    "2:c1",
    "s1",
    "s1:m1",
    "s1:qc1",
    "s1:c1",
];

/// Text values edits choose from besides arbitrary text: record types, and the scope values
/// of the fixtures.
pub const TEXTS: &[&str] = &[
    "inspection",
    "stock_count",
    "approval",
    "order",
    "user_index",
    "F1",
    "F2",
    "W1",
    "W2",
    "",
];

/// A map key or list index.
#[derive(Debug, Clone, Arbitrary)]
pub enum Key {
    /// One of [`KEYS`] (modulo its length); as a list index, the number itself.
    Known(u8),
    /// Any text (at most 16 bytes are used).
    Other(String),
}

impl Key {
    /// The key as map key text.
    pub fn text(&self) -> String {
        match self {
            Key::Known(i) => KEYS[*i as usize % KEYS.len()].to_string(),
            Key::Other(s) => truncate(s, 16),
        }
    }

    fn index(&self) -> usize {
        match self {
            Key::Known(i) => *i as usize,
            Key::Other(s) => s.len(),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A value to write.
#[derive(Debug, Clone, Arbitrary)]
pub enum Val {
    /// One of [`TEXTS`] or [`KEYS`] as a string.
    Known(u8),
    /// Any text (at most 64 bytes).
    Str(String),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A float (NaN and infinities included).
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Null.
    Null,
    /// A counter starting at this value.
    Counter(i64),
    /// A timestamp.
    Timestamp(i64),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A new, empty map.
    Map,
    /// A new, empty list.
    List,
    /// A new, empty text object.
    Text,
}

impl Val {
    fn scalar(&self) -> Option<ScalarValue> {
        Some(match self {
            Val::Known(i) => {
                let i = *i as usize % (TEXTS.len() + KEYS.len());
                ScalarValue::Str(
                    TEXTS
                        .get(i)
                        .copied()
                        .unwrap_or_else(|| KEYS[i - TEXTS.len()])
                        .into(),
                )
            }
            Val::Str(s) => ScalarValue::Str(truncate(s, 64).into()),
            Val::Int(i) => ScalarValue::Int(*i),
            Val::Uint(u) => ScalarValue::Uint(*u),
            Val::F64(f) => ScalarValue::F64(*f),
            Val::Bool(b) => ScalarValue::Boolean(*b),
            Val::Null => ScalarValue::Null,
            Val::Counter(c) => ScalarValue::counter(*c),
            Val::Timestamp(t) => ScalarValue::Timestamp(*t),
            Val::Bytes(b) => ScalarValue::Bytes(b.iter().copied().take(64).collect()),
            Val::Map | Val::List | Val::Text => return None,
        })
    }

    fn object(&self) -> Option<ObjType> {
        match self {
            Val::Map => Some(ObjType::Map),
            Val::List => Some(ObjType::List),
            Val::Text => Some(ObjType::Text),
            _ => None,
        }
    }
}

/// One raw edit. Paths are followed from the root through existing maps and lists; an edit
/// whose path does not lead anywhere does nothing. The last key of a path names the place
/// edited in its parent (a map key, or an index in a list).
#[derive(Debug, Clone, Arbitrary)]
pub enum Edit {
    /// Puts a value (a scalar, or a new empty object) at the path, creating missing maps
    /// along the way when `create_parents`.
    Put {
        /// Where.
        path: Vec<Key>,
        /// What.
        value: Val,
        /// Whether to create missing parent maps.
        create_parents: bool,
    },
    /// Deletes the path.
    Delete {
        /// Where.
        path: Vec<Key>,
    },
    /// Increments the counter at the path (an error if it is not a counter: ignored).
    Increment {
        /// Where.
        path: Vec<Key>,
        /// By how much.
        by: i64,
    },
    /// Inserts a value into the list at the path.
    Insert {
        /// The list.
        path: Vec<Key>,
        /// Where in it.
        index: u8,
        /// What.
        value: Val,
    },
    /// Splices text into the text object at the path.
    Splice {
        /// The text object.
        path: Vec<Key>,
        /// Where.
        index: u8,
        /// How many characters to delete.
        delete: u8,
        /// What to insert (at most 16 bytes).
        text: String,
    },
    /// Commits what was edited so far as one change.
    Commit,
}

/// The most keys in a path that is followed.
pub const PATH_KEYS_MAX: usize = 5;

/// Applies one edit to `doc` (without committing, except for [`Edit::Commit`]). Errors from
/// Automerge (a wrong kind of object, an index out of range) are ignored: the edit simply
/// does nothing, as a refused operation would on a device.
pub fn apply(doc: &mut AutoCommit, edit: &Edit) {
    match edit {
        Edit::Put {
            path,
            value,
            create_parents,
        } => {
            let Some((parent, prop)) = locate(doc, path, *create_parents) else {
                return;
            };
            match (value.object(), value.scalar()) {
                (Some(t), _) => {
                    let _ = doc.put_object(&parent, prop, t);
                }
                (None, Some(s)) => {
                    let _ = doc.put(&parent, prop, s);
                }
                (None, None) => {}
            }
        }
        Edit::Delete { path } => {
            if let Some((parent, prop)) = locate(doc, path, false) {
                let _ = doc.delete(&parent, prop);
            }
        }
        Edit::Increment { path, by } => {
            if let Some((parent, prop)) = locate(doc, path, false) {
                let _ = doc.increment(&parent, prop, *by);
            }
        }
        Edit::Insert { path, index, value } => {
            let Some(list) = follow(doc, &path[..path.len().min(PATH_KEYS_MAX)]) else {
                return;
            };
            if doc.object_type(&list).ok() != Some(ObjType::List) {
                return;
            }
            let at = *index as usize % (doc.length(&list) + 1);
            match (value.object(), value.scalar()) {
                (Some(t), _) => {
                    let _ = doc.insert_object(&list, at, t);
                }
                (None, Some(s)) => {
                    let _ = doc.insert(&list, at, s);
                }
                (None, None) => {}
            }
        }
        Edit::Splice {
            path,
            index,
            delete,
            text,
        } => {
            let Some(obj) = follow(doc, &path[..path.len().min(PATH_KEYS_MAX)]) else {
                return;
            };
            if doc.object_type(&obj).ok() != Some(ObjType::Text) {
                return;
            }
            let len = doc.length(&obj);
            let at = *index as usize % (len + 1);
            let del = (*delete as usize).min(len - at) as isize;
            let _ = doc.splice_text(&obj, at, del, &truncate(text, 16));
        }
        Edit::Commit => {
            doc.commit();
        }
    }
}

/// The object at `path` (every key must lead to an existing map or list).
fn follow(doc: &AutoCommit, path: &[Key]) -> Option<ObjId> {
    let mut obj = ROOT;
    for key in path {
        let prop = prop_in(doc, &obj, key)?;
        match doc.get(&obj, prop).ok()?? {
            (Value::Object(_), id) => obj = id,
            _ => return None,
        }
    }
    Some(obj)
}

/// The place `key` names in `obj`: a map key, or an index into a list (modulo its length;
/// `None` for an empty list). Text objects hold no props here.
fn prop_in(doc: &AutoCommit, obj: &ObjId, key: &Key) -> Option<Prop> {
    match doc.object_type(obj).ok()? {
        ObjType::Map | ObjType::Table => Some(Prop::Map(key.text())),
        ObjType::List => {
            let len = doc.length(obj);
            (len > 0).then(|| Prop::Seq(key.index() % len))
        }
        ObjType::Text => None,
    }
}

/// The parent object and the place in it that `path` ends at. With `create_parents`,
/// missing (or scalar) map entries along the way are replaced by new maps.
fn locate(doc: &mut AutoCommit, path: &[Key], create_parents: bool) -> Option<(ObjId, Prop)> {
    let path = &path[..path.len().min(PATH_KEYS_MAX)];
    let (last, parents) = path.split_last()?;
    let mut obj = ROOT;
    for key in parents {
        let prop = prop_in(doc, &obj, key)?;
        match doc.get(&obj, prop.clone()).ok()? {
            Some((Value::Object(_), id)) => obj = id,
            _ if create_parents && matches!(prop, Prop::Map(_)) => {
                obj = doc.put_object(&obj, prop, ObjType::Map).ok()?;
            }
            _ => return None,
        }
    }
    let prop = prop_in(doc, &obj, last)?;
    Some((obj, prop))
}

/// One step of a flattened path: a map key or list index, and which of the conflicting
/// values there it is (0 for the visible winner).
pub type Step = (String, usize);

/// A flattened path from the root.
pub type FlatPath = Vec<Step>;

/// A document's visible state, flattened: every path from the root (map keys and list
/// indexes) to the value there. Objects appear as their type and id, so an object replaced
/// by an equal-looking new one shows as changed; a key holding several conflicting values
/// has them all (the winner as conflict 0).
pub fn flatten(doc: &AutoCommit) -> BTreeMap<FlatPath, String> {
    let mut out = BTreeMap::new();
    flatten_obj(doc, &ROOT, &mut Vec::new(), &mut out, 0);
    out
}

/// Nesting deeper than this is dumped as one leaf (edits build at most [`PATH_KEYS_MAX`]
/// levels on top of the fixtures' few).
const FLATTEN_DEPTH_MAX: usize = 16;

fn flatten_obj(
    doc: &AutoCommit,
    obj: &ObjId,
    path: &mut FlatPath,
    out: &mut BTreeMap<FlatPath, String>,
    depth: usize,
) {
    if depth > FLATTEN_DEPTH_MAX {
        out.insert(path.clone(), "<deep>".to_string());
        return;
    }
    let props: Vec<Prop> = match doc.object_type(obj) {
        Ok(ObjType::Map | ObjType::Table) => doc.keys(obj).map(Prop::Map).collect(),
        Ok(ObjType::List) => (0..doc.length(obj)).map(Prop::Seq).collect(),
        Ok(ObjType::Text) => {
            let text = doc.text(obj).unwrap_or_default();
            out.insert(path.clone(), format!("text {text:?}"));
            return;
        }
        Err(_) => return,
    };
    for prop in props {
        let name = match &prop {
            Prop::Map(k) => k.clone(),
            Prop::Seq(i) => i.to_string(),
        };
        let values = doc.get_all(obj, prop).unwrap_or_default();
        for (i, (value, id)) in values.into_iter().enumerate() {
            path.push((name.clone(), i));
            match value {
                Value::Object(t) => {
                    out.insert(path.clone(), format!("{t:?} {id}"));
                    flatten_obj(doc, &id, path, out, depth + 1);
                }
                Value::Scalar(s) => {
                    out.insert(path.clone(), scalar_text(&s));
                }
            }
            path.pop();
        }
    }
}

fn scalar_text(s: &ScalarValue) -> String {
    match s {
        // A counter's visible value is its current total.
        ScalarValue::Counter(c) => format!("counter {}", i64::from(c)),
        other => format!("{other:?}"),
    }
}

/// The paths whose value differs between two flattened states (added, removed or changed).
pub fn changed<'a>(
    before: &'a BTreeMap<FlatPath, String>,
    after: &'a BTreeMap<FlatPath, String>,
) -> Vec<&'a FlatPath> {
    let mut out: Vec<&FlatPath> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    out.extend(after.keys().filter(|k| !before.contains_key(*k)));
    out
}

/// A flattened path as text, e.g. `lines.l1.entries.1:c1` (a conflict shown as `#n`).
pub fn show(path: &FlatPath) -> String {
    path.iter()
        .map(|(k, i)| {
            if *i == 0 {
                k.clone()
            } else {
                format!("{k}#{i}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}
