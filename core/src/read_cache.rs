//! A read-only view of an Automerge document that answers `get` from one pass per object.
//!
//! autosurgeon reads a struct field by field: every field, every map entry and every list
//! element is a `ReadDoc::get`, and in Automerge 0.12 each `get` seeks through the object's
//! operations. A 200-defect inspection took 55 ms to read that way against 8.6 ms for
//! Automerge's own one-pass `hydrate` (criterion, `core/benches/core.rs`). The server reads
//! every changed record once per turn for its summary and write check, so this was the
//! largest cost of a write.
//!
//! [`CachedRead`] wraps a document and, the first time a map or list is asked for one of
//! its values, reads *all* its values in one `map_range`/`list_range` pass and keeps them;
//! the following `get`s on that object are lookups. Everything else is passed through
//! unchanged, so autosurgeon sees exactly what the document says: the same winning value
//! for a conflicted key (`map_range` and `get` pick the same one), the same object ids.
//! Written by hand because neither autosurgeon nor Automerge offers a cached reader; the
//! equivalence is tested against plain reads below and by every record test, which reads
//! through it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeBounds;

use automerge::{AutomergeError, ChangeHash, ObjId, ObjType, Prop, Value};
use autosurgeon::ReadDoc;

/// One object's values, read in one pass.
#[derive(Debug)]
enum Entries {
    Map(HashMap<String, (Value<'static>, ObjId)>),
    List(Vec<(Value<'static>, ObjId)>),
    /// Text or an object we do not cache: asked of the document each time.
    PassThrough,
}

/// A document read through a per-object cache (see the module docs). Only for reading:
/// build one, hydrate from it, drop it. It is not `Sync` and not meant to be kept.
pub struct CachedRead<'a, D: ReadDoc> {
    doc: &'a D,
    objects: RefCell<HashMap<ObjId, Entries>>,
}

impl<D: ReadDoc> std::fmt::Debug for CachedRead<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRead")
            .field("objects", &self.objects.borrow().len())
            .finish()
    }
}

impl<'a, D: ReadDoc> CachedRead<'a, D> {
    /// Wraps `doc` for one read.
    pub fn new(doc: &'a D) -> Self {
        CachedRead {
            doc,
            objects: RefCell::new(HashMap::new()),
        }
    }

    fn load(&self, obj: &ObjId) -> Entries {
        match self.doc.object_type(obj) {
            Some(ObjType::Map | ObjType::Table) => Entries::Map(
                self.doc
                    .map_range(obj, ..)
                    .map(|item| {
                        let id = item.id();
                        (item.key.into_owned(), (item.value.into_value(), id))
                    })
                    .collect(),
            ),
            Some(ObjType::List) => Entries::List(
                self.doc
                    .list_range(obj, ..)
                    .map(|item| {
                        let id = item.id();
                        (item.value.into_value(), id)
                    })
                    .collect(),
            ),
            _ => Entries::PassThrough,
        }
    }

    /// The value at `prop` from the cache; `None` when the object is not cached (text, an
    /// unknown object, a key of the wrong kind: the caller asks the document, which gives
    /// the document's answer or error).
    fn cached(&self, obj: &ObjId, prop: &Prop) -> Option<Option<(Value<'static>, ObjId)>> {
        let mut objects = self.objects.borrow_mut();
        if !objects.contains_key(obj) {
            let entries = self.load(obj);
            objects.insert(obj.clone(), entries);
        }
        match (objects.get(obj)?, prop) {
            (Entries::Map(m), Prop::Map(key)) => Some(m.get(key.as_str()).cloned()),
            (Entries::List(l), Prop::Seq(i)) => Some(l.get(*i).cloned()),
            _ => None,
        }
    }
}

impl<D: ReadDoc> ReadDoc for CachedRead<'_, D> {
    type Parents<'b>
        = D::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        match self.cached(obj, &prop) {
            Some(v) => Ok(v),
            None => self.doc.get(obj, prop),
        }
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        if let Some(Entries::List(l)) = self.objects.borrow().get(obj.as_ref()) {
            return l.len();
        }
        self.doc.length(obj)
    }

    // The rest is the document's own answer.

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.doc.object_type(obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> automerge::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        self.doc.map_range(obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        self.doc.list_range(obj, range)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.doc.text(obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents(obj)
    }

    fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT, ScalarValue};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn answers_what_the_document_answers() {
        let mut a = AutoCommit::new();
        a.put(ROOT, "title", "first").unwrap();
        let list = a.put_object(ROOT, "items", ObjType::List).unwrap();
        for i in 0..5_i64 {
            a.insert(&list, 0, i).unwrap();
        }
        let nested = a.insert_object(&list, 2, ObjType::Map).unwrap();
        a.put(&nested, "qty", ScalarValue::counter(3)).unwrap();
        let text = a.put_object(ROOT, "note", ObjType::Text).unwrap();
        a.splice_text(&text, 0, 0, "hello").unwrap();
        // A conflict: two actors put the same key concurrently.
        let mut b = a.fork();
        a.put(ROOT, "title", "from a").unwrap();
        b.put(ROOT, "title", "from b").unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(
            automerge::ReadDoc::get_all(&a, ROOT, "title")
                .unwrap()
                .len(),
            2
        );

        let c = CachedRead::new(&a);
        let root = ROOT;
        for key in ["title", "items", "note", "missing"] {
            assert_eq!(
                c.get(&root, key).unwrap(),
                a.get(&root, key).unwrap(),
                "{key}"
            );
        }
        assert_eq!(c.length(&list), ReadDoc::length(&a, &list));
        for i in 0..8 {
            assert_eq!(c.get(&list, i).unwrap(), a.get(&list, i).unwrap(), "{i}");
        }
        assert_eq!(
            c.get(&nested, "qty").unwrap(),
            a.get(&nested, "qty").unwrap()
        );
        // Text is not cached: an index into it is the document's answer, as is the text.
        assert_eq!(c.get(&text, 1).unwrap(), a.get(&text, 1).unwrap());
        assert_eq!(ReadDoc::text(&c, &text).unwrap(), "hello");
        // A map key on a list, an index on a map: the document's own answer.
        assert_eq!(c.get(&list, "x").is_err(), a.get(&list, "x").is_err());
        assert_eq!(c.get(&root, 0).is_err(), a.get(&root, 0).is_err());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_record_reads_the_same_through_the_cache() {
        use crate::common::EditContext;
        use crate::inspection::{self, Inspection, NewInspection};
        let ctx = EditContext::new("qc1", 1_700_000_000_000);
        let new = NewInspection {
            title: "cached".into(),
            lot_size: 1200,
            ..NewInspection::default()
        };
        let record =
            inspection::create(&new, crate::record::actor_from_bytes(&[7; 16]), &ctx).unwrap();
        let plain: Inspection = autosurgeon::hydrate(record.doc()).unwrap();
        let cached: Inspection = autosurgeon::hydrate(&CachedRead::new(record.doc())).unwrap();
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            serde_json::to_value(&cached).unwrap()
        );
    }
}
