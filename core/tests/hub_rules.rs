//! The hub's business checks on the sync path, with devices syncing real documents: sign-offs
//! and the deposit confirmation by job title, a live connection following its account's
//! changes, and records at an older schema upgraded by the server when a device changes
//! them.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc};
use gendan_core::access::{Principal, Role};
use gendan_core::common::{EditContext, Money};
use gendan_core::order::{self, CommercialOp, OrderCommercial, PaymentTerm, ReviewStep};
use gendan_core::protocol::hub::{ConnId, Hub, HubConfig, HubLimits, Output};
use gendan_core::protocol::{DocumentId, Message, PeerId, PeerMetadata, StorageId, decode, encode};
use gendan_core::purchase_order::{self, NewPurchaseOrder, PurchaseOrderOp};
use gendan_core::record::{Record, UPGRADE_MESSAGE, actor_from_bytes, read_schema};

fn who(user: &str, role: Role, titles: &[&str]) -> Principal {
    Principal {
        user: user.into(),
        role,
        factory: None,
        warehouse: None,
        titles: titles.iter().map(|t| (*t).to_string()).collect(),
    }
}

/// A hub over a store of saved documents (read when the hub asks to load them).
struct Net {
    hub: Hub,
    stored: HashMap<DocumentId, Vec<u8>>,
}

impl Net {
    fn new(stored: &[(DocumentId, Vec<u8>)]) -> Self {
        Net {
            hub: Hub::new(HubConfig {
                peer_id: PeerId::new("server"),
                storage_id: StorageId::new("s"),
                limits: HubLimits::default(),
            }),
            stored: stored.iter().cloned().collect(),
        }
    }

    /// Carries out loads; returns everything else the hub produced.
    fn run(&mut self) -> Output {
        let mut all = Output::default();
        loop {
            let out = self.hub.take_output();
            if out.is_empty() {
                return all;
            }
            for d in out.loads {
                let bytes = self.stored.get(&d).cloned();
                self.hub.loaded(d, bytes.as_deref(), 0).unwrap();
            }
            all.sends.extend(out.sends);
            all.closes.extend(out.closes);
            all.writes.extend(out.writes);
            all.rejected.extend(out.rejected);
            all.accepted.extend(out.accepted);
        }
    }

    fn connect(&mut self, conn: ConnId, p: Principal) {
        self.hub.connect(conn, p, 0);
        let join = Message::Join {
            sender_id: PeerId::new(format!("peer-{conn}")),
            peer_metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
            }),
            supported_protocol_versions: vec!["1".into()],
        };
        self.hub.receive(conn, &encode(&join), 0);
        self.run();
    }

    /// The server's copy of `doc`.
    fn doc(&self, doc: DocumentId) -> AutoCommit {
        self.hub.document(&doc).expect("loaded")
    }
}

/// A device's copy of one document and its sync state with the server.
struct Device {
    conn: ConnId,
    doc: AutoCommit,
    state: sync::State,
}

impl Device {
    fn new(conn: ConnId, bytes: &[u8], actor: u8) -> Self {
        Device {
            conn,
            doc: AutoCommit::load(bytes)
                .unwrap()
                .with_actor(automerge::ActorId::from(&[actor; 16][..])),
            state: sync::State::new(),
        }
    }

    fn record(&mut self) -> Record {
        Record::from_doc(self.doc.clone()).map_err(|b| b.1).unwrap()
    }

    fn set(&mut self, r: Record) {
        self.doc = r.into_doc();
    }

    /// Syncs `doc` with the server until neither side has anything to say; returns what
    /// the hub produced (accepted, rejected, writes).
    fn sync(&mut self, net: &mut Net, doc: DocumentId) -> Output {
        let mut all = Output::default();
        for _ in 0..20 {
            let mine = self.doc.sync().generate_sync_message(&mut self.state);
            let spoke = mine.is_some();
            if let Some(m) = mine {
                let msg = Message::Sync {
                    sender_id: PeerId::new(format!("peer-{}", self.conn)),
                    target_id: PeerId::new("server"),
                    document_id: doc,
                    data: m.encode(),
                };
                net.hub.receive(self.conn, &encode(&msg), 0);
            }
            let mut out = net.run();
            net.hub.flush(0);
            let flushed = net.run();
            out.sends.extend(flushed.sends);
            let mut replied = false;
            for (c, frame) in &out.sends {
                if *c != self.conn {
                    continue;
                }
                if let Message::Sync { data, .. } = decode(frame).unwrap() {
                    let m = sync::Message::decode(&data).unwrap();
                    self.doc
                        .sync()
                        .receive_sync_message(&mut self.state, m)
                        .unwrap();
                    replied = true;
                }
            }
            all.accepted.extend(out.accepted);
            all.rejected.extend(out.rejected);
            all.writes.extend(out.writes);
            all.sends.extend(out.sends);
            if !spoke && !replied {
                break;
            }
        }
        all
    }
}

const DOC: DocumentId = DocumentId::from_bytes([9; 16]);

fn commercial() -> Vec<u8> {
    let mut c = order::create_commercial(
        "order-doc",
        "SO-1",
        PaymentTerm::Deposit,
        actor_from_bytes(&[1; 16]),
        &EditContext::new("sales", 1),
    )
    .unwrap();
    order::apply_commercial(
        &mut c,
        &CommercialOp::RequireCostSheetSigner {
            department: "finance".into(),
        },
        &EditContext::new("sales", 1),
    )
    .unwrap();
    c.save()
}

fn confirm(r: &mut Record, user: &str, minor: i64) {
    order::apply_commercial(
        r,
        &CommercialOp::ConfirmDeposit {
            amount: Money {
                minor,
                currency: "USD".into(),
            },
            received_ms: 5,
        },
        &EditContext::new(user, 6),
    )
    .unwrap();
}

fn deposit_on_server(net: &Net) -> i64 {
    Record::from_doc(net.doc(DOC))
        .map_err(|b| b.1)
        .unwrap()
        .read::<OrderCommercial>()
        .unwrap()
        .deposit_amount
        .minor
}

#[test]
fn a_deposit_confirmed_by_sync_needs_the_finance_title() {
    let bytes = commercial();
    let mut net = Net::new(&[(DOC, bytes.clone())]);
    // A merchandiser's device (an office role, write access) confirms the deposit.
    net.connect(1, who("merch", Role::Merchandiser, &["merchandiser"]));
    let mut merch = Device::new(1, &bytes, 11);
    merch.sync(&mut net, DOC);
    let mut r = merch.record();
    confirm(&mut r, "merch", 100);
    merch.set(r);
    let out = merch.sync(&mut net, DOC);
    assert_eq!(out.accepted.len(), 0);
    assert_eq!(out.rejected.len(), 1, "{:?}", out.rejected);
    assert_eq!(out.rejected[0].problems[0].code, "deposit.finance_only");
    assert_eq!(deposit_on_server(&net), 0, "never merged");
    // Finance's device: merged.
    net.connect(2, who("fin", Role::Approver, &["finance"]));
    let mut fin = Device::new(2, &bytes, 12);
    fin.sync(&mut net, DOC);
    let mut r = fin.record();
    confirm(&mut r, "fin", 100);
    fin.set(r);
    let out = fin.sync(&mut net, DOC);
    assert_eq!(out.rejected.len(), 0, "{:?}", out.rejected);
    assert_eq!(out.accepted.len(), 1);
    assert_eq!(deposit_on_server(&net), 100);
}

#[test]
fn review_and_po_sign_offs_by_sync_need_the_slots_title() {
    let bytes = commercial();
    let po_doc = DocumentId::from_bytes([8; 16]);
    let mut po = purchase_order::create(
        &NewPurchaseOrder {
            po_no: "PO-1".into(),
            order_id: "order-doc".into(),
            order_no: "SO-1".into(),
            factory: "F1".into(),
            ..NewPurchaseOrder::default()
        },
        actor_from_bytes(&[2; 16]),
        &EditContext::new("merch", 1),
    )
    .unwrap();
    purchase_order::apply(
        &mut po,
        &PurchaseOrderOp::Sign {
            role: "sales".into(),
            name: "Chen".into(),
        },
        &EditContext::new("sales", 2),
    )
    .unwrap();
    let po_bytes = po.save();
    let mut net = Net::new(&[(DOC, bytes.clone()), (po_doc, po_bytes.clone())]);
    // A sales manager (an approver without the product control manager's title) signs the
    // price check, and the general manager's line of the PO: both refused.
    net.connect(1, who("sm", Role::Approver, &["sales_manager"]));
    let mut dev = Device::new(1, &bytes, 11);
    dev.sync(&mut net, DOC);
    let mut r = dev.record();
    order::apply_commercial(
        &mut r,
        &CommercialOp::SignReview {
            step: ReviewStep::PriceCheck,
            department: String::new(),
            name: "Wu".into(),
        },
        &EditContext::new("sm", 3),
    )
    .unwrap();
    dev.set(r);
    let out = dev.sync(&mut net, DOC);
    assert_eq!(out.rejected.len(), 1);
    let p = &out.rejected[0].problems[0];
    assert_eq!(
        (p.field.as_str(), p.code.as_str()),
        ("review.price_check", "sign_off.title_required"),
        "{p:?}"
    );
    let mut po_dev = Device::new(1, &po_bytes, 11);
    po_dev.sync(&mut net, po_doc);
    let mut r = po_dev.record();
    purchase_order::apply(
        &mut r,
        &PurchaseOrderOp::Sign {
            role: "general_manager".into(),
            name: "Wu".into(),
        },
        &EditContext::new("sm", 3),
    )
    .unwrap();
    po_dev.set(r);
    let out = po_dev.sync(&mut net, po_doc);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(
        out.rejected[0].problems[0].field, "signatures.general_manager",
        "{:?}",
        out.rejected
    );
    // The product control manager's price check is merged.
    net.connect(2, who("pcm", Role::Approver, &["product_control_manager"]));
    let mut pcm = Device::new(2, &bytes, 12);
    pcm.sync(&mut net, DOC);
    let mut r = pcm.record();
    order::apply_commercial(
        &mut r,
        &CommercialOp::SignReview {
            step: ReviewStep::PriceCheck,
            department: String::new(),
            name: "Zheng".into(),
        },
        &EditContext::new("pcm", 4),
    )
    .unwrap();
    pcm.set(r);
    let out = pcm.sync(&mut net, DOC);
    assert_eq!(out.rejected.len(), 0, "{:?}", out.rejected);
    assert_eq!(out.accepted.len(), 1);
}

#[test]
fn a_live_connection_acts_for_its_account_as_it_is_now() {
    let bytes = commercial();
    let mut net = Net::new(&[(DOC, bytes.clone())]);
    // Connected before finance's title was given.
    net.connect(1, who("fin", Role::Approver, &[]));
    let mut fin = Device::new(1, &bytes, 11);
    fin.sync(&mut net, DOC);
    // The administrator gives the title: the connection takes it without a reconnect.
    assert_eq!(
        net.hub
            .update_principal(&who("fin", Role::Approver, &["finance"])),
        1
    );
    assert_eq!(net.hub.principal(1).unwrap().titles, ["finance"]);
    let mut r = fin.record();
    confirm(&mut r, "fin", 100);
    fin.set(r);
    let out = fin.sync(&mut net, DOC);
    assert_eq!(out.rejected.len(), 0, "{:?}", out.rejected);
    assert_eq!(deposit_on_server(&net), 100);
    // The title is taken away: the next confirmation is refused.
    net.hub.update_principal(&who("fin", Role::Approver, &[]));
    let mut r = fin.record();
    confirm(&mut r, "fin", 200);
    fin.set(r);
    let out = fin.sync(&mut net, DOC);
    assert_eq!(out.rejected.len(), 1, "{:?}", out.rejected);
    assert_eq!(deposit_on_server(&net), 100);
    // An unchanged account is not touched.
    assert_eq!(
        net.hub.update_principal(&who("fin", Role::Approver, &[])),
        0
    );

    // A role change that takes a record out of scope: the connection is told at once.
    net.connect(2, who("m2", Role::Merchandiser, &[]));
    let mut m2 = Device::new(2, &bytes, 12);
    m2.sync(&mut net, DOC);
    net.hub.update_principal(&who("m2", Role::Qc, &[]));
    let out = net.run();
    let told: Vec<Message> = out
        .sends
        .iter()
        .filter(|(c, _)| *c == 2)
        .map(|(_, f)| decode(f).unwrap())
        .collect();
    assert!(
        told.iter().any(
            |m| matches!(m, Message::DocUnavailable { document_id, .. } if *document_id == DOC)
        ),
        "{told:?}"
    );
    // A disabled account's connections are closed.
    assert_eq!(net.hub.close_user("m2", "your account is disabled"), 1);
    let out = net.run();
    assert_eq!(out.closes.len(), 1);
    assert_eq!(out.closes[0].0, 2);
    assert!(net.hub.connected_users().contains("fin"));
}

/// An order's commercial side as written by the first schema (no `review` map).
fn schema_1_commercial() -> Vec<u8> {
    let mut d = AutoCommit::new().with_actor(automerge::ActorId::from(&[7_u8; 16][..]));
    d.put(automerge::ROOT, "type", "order_commercial").unwrap();
    d.put(automerge::ROOT, "schema", 1_i64).unwrap();
    d.put(automerge::ROOT, "created_by", "merch").unwrap();
    d.put(automerge::ROOT, "order_no", "SO-OLD-1").unwrap();
    d.put(automerge::ROOT, "payment_term", "lc").unwrap();
    for c in ["assignees", "prices", "costs"] {
        d.put_object(automerge::ROOT, c, automerge::ObjType::Map)
            .unwrap();
    }
    d.commit();
    d.save()
}

#[test]
fn a_record_at_an_older_schema_changed_by_sync_is_upgraded_in_the_same_turn() {
    let bytes = schema_1_commercial();
    let mut nets = [
        Net::new(&[(DOC, bytes.clone())]),
        Net::new(&[(DOC, bytes.clone())]),
    ];
    // One device change, delivered to two servers that hold the same document.
    let mut changed = Device::new(0, &bytes, 11);
    let mut r = changed.record();
    order::apply_commercial(
        &mut r,
        &CommercialOp::SetPrice {
            line: "navy".into(),
            price: Money {
                minor: 450,
                currency: "USD".into(),
            },
        },
        &EditContext::new("merch", 1_700_000_000_000),
    )
    .unwrap();
    changed.set(r);
    let mut devices = Vec::new();
    for net in &mut nets {
        net.connect(1, who("merch", Role::Merchandiser, &[]));
        let mut dev = Device {
            conn: 1,
            doc: changed.doc.clone(),
            state: sync::State::new(),
        };
        let out = dev.sync(net, DOC);
        assert_eq!(out.accepted.len(), 1, "{:?}", out.rejected);
        // The device's change and the upgrade are written in the same turn ...
        assert!(!out.writes.is_empty());
        let mut server = net.doc(DOC);
        assert_eq!(read_schema(&server), 2, "upgraded");
        assert!(matches!(
            server.get(automerge::ROOT, "review"),
            Ok(Some((automerge::Value::Object(automerge::ObjType::Map), _)))
        ));
        // ... the upgrade is the server's change, not attributed to the device ...
        let upgrades: Vec<_> = server
            .get_changes(&[])
            .into_iter()
            .filter(|c| c.message() == Some(UPGRADE_MESSAGE))
            .map(|c| c.hash())
            .collect();
        assert_eq!(upgrades.len(), 1);
        assert!(!out.accepted[0].change_hashes.contains(&upgrades[0]));
        // ... and the device received it.
        assert_eq!(read_schema(&dev.doc), 2, "the device has the upgrade");
        devices.push(dev);
    }
    // Two servers that upgraded the same state concurrently made the very same change.
    assert_eq!(nets[0].doc(DOC).get_heads(), nets[1].doc(DOC).get_heads());
    // Idempotent: the next change is not followed by another upgrade.
    let dev = &mut devices[0];
    let mut r = dev.record();
    order::apply_commercial(
        &mut r,
        &CommercialOp::RequireCostSheetSigner {
            department: "sales".into(),
        },
        &EditContext::new("merch", 1_700_000_000_001),
    )
    .unwrap();
    dev.set(r);
    let out = dev.sync(&mut nets[0], DOC);
    assert_eq!(out.accepted.len(), 1, "{:?}", out.rejected);
    let mut server = nets[0].doc(DOC);
    let upgrades = server
        .get_changes(&[])
        .into_iter()
        .filter(|c| c.message() == Some(UPGRADE_MESSAGE))
        .count();
    assert_eq!(upgrades, 1);
    let c: OrderCommercial = Record::from_doc(server)
        .map_err(|b| b.1)
        .unwrap()
        .read()
        .unwrap();
    assert_eq!(c.prices["navy"].minor, 450);
    assert!(c.cost_sheet_signers["sales"]);
}
