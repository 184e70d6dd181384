//! Micro-benchmarks of the core (`cargo bench -p gendan-core`; `make bench` runs them):
//!
//! * `sync/*`: the server applying one device edit — the Automerge sync message alone, and
//!   the whole hub path (decode, write check, merge, incremental save, reply);
//! * `record/*`: loading and saving a realistic inspection (200 defects, 100 readings);
//! * `aql/*`: a sampling plan from ISO 2859-1 tables;
//! * `index/*`: rebuilding a user's index document from 500 record summaries.

use std::hint::black_box;
use std::time::Duration;

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gendan_core::access::{Principal, Role};
use gendan_core::aql::{self, Aql, AqlSettings, DefectClass, InspectionLevel};
use gendan_core::common::{Decimal, EditContext};
use gendan_core::inspection::{self, InspectionOp, MeasurementPoint, NewInspection};
use gendan_core::protocol::hub::{Hub, HubConfig, HubLimits};
use gendan_core::protocol::{DocumentId, Message, PROTOCOL_VERSION, PeerId, StorageId, encode};
use gendan_core::record::{Record, actor_from_bytes};
use gendan_core::summary;

const NOW: i64 = 1_790_000_000_000;

/// An inspection as a busy inspector leaves it: 10 points of measure, 200 defects (each
/// tallied once more) and 100 readings, every operation its own change.
fn realistic_inspection() -> Record {
    let ctx = EditContext::new("qc1", NOW);
    let new = NewInspection {
        title: "Final inspection, knit polo".into(),
        order_no: "SO-2026-0042".into(),
        po_no: "PO-7781".into(),
        style_no: "PL-220".into(),
        customer: "Northwind Apparel".into(),
        factory: "Ningbo Knitwear No. 3".into(),
        lot_size: 5000,
        due_ms: NOW,
        assignees: vec!["qc1".into()],
        points: (0..10)
            .map(|p| {
                (
                    format!("p{p}"),
                    MeasurementPoint {
                        name: format!("point of measure {p}"),
                        size: "M".into(),
                        target: Decimal(50.0 + f64::from(p)),
                        tol_minus: Decimal(1.0),
                        tol_plus: Decimal(1.0),
                        unit: "cm".into(),
                    },
                )
            })
            .collect(),
        ..NewInspection::default()
    };
    let mut record = inspection::create(&new, actor_from_bytes(&[1; 16]), &ctx).expect("create");
    for i in 0..200 {
        let id = format!("d{i}");
        let add = InspectionOp::AddDefect {
            id: id.clone(),
            class: DefectClass::ALL[i % 3],
            description: "loose thread at the hem".into(),
            position: "back hem".into(),
            qty: 1,
        };
        inspection::apply(&mut record, &add, &ctx).expect("add defect");
        let tally = InspectionOp::TallyDefect { id, delta: 1 };
        inspection::apply(&mut record, &tally, &ctx).expect("tally");
    }
    for i in 0..100_i64 {
        let op = InspectionOp::RecordReading {
            id: format!("r{i}"),
            point: format!("p{}", i % 10),
            piece: 1 + i / 10,
            value: 50.0 + (i % 10) as f64 + 0.1,
        };
        inspection::apply(&mut record, &op, &ctx).expect("reading");
    }
    record
}

fn bench_record(c: &mut Criterion) {
    let mut record = realistic_inspection();
    let bytes = record.save();
    let mut g = c.benchmark_group("record");
    g.bench_function("load inspection (200 defects, 100 readings)", |b| {
        b.iter(|| Record::load(black_box(&bytes), actor_from_bytes(&[2; 16])).expect("load"));
    });
    g.bench_function("save inspection (200 defects, 100 readings)", |b| {
        b.iter_batched_ref(
            || Record::load(&bytes, actor_from_bytes(&[2; 16])).expect("load"),
            |r| black_box(r.save()),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// The device and server documents in sync, then one tally on the device: the sync
/// message carrying it, and the server's copy with its sync state before receiving it.
fn one_edit_message() -> (AutoCommit, sync::State, Vec<u8>) {
    let mut server = realistic_inspection().into_doc();
    let mut device = server.fork().with_actor(actor_from_bytes(&[3; 16]));
    let (mut ss, mut ds) = (sync::State::new(), sync::State::new());
    loop {
        let mut moved = false;
        if let Some(m) = device.sync().generate_sync_message(&mut ds) {
            server
                .sync()
                .receive_sync_message(&mut ss, m)
                .expect("server receives");
            moved = true;
        }
        if let Some(m) = server.sync().generate_sync_message(&mut ss) {
            device
                .sync()
                .receive_sync_message(&mut ds, m)
                .expect("device receives");
            moved = true;
        }
        if !moved {
            break;
        }
    }
    let mut record = Record::from_doc(device).map_err(|b| b.1).expect("a record");
    let ctx = EditContext::new("qc1", NOW + 1);
    inspection::apply(
        &mut record,
        &InspectionOp::TallyDefect {
            id: "d7".into(),
            delta: 1,
        },
        &ctx,
    )
    .expect("tally");
    let mut device = record.into_doc();
    let m = device
        .sync()
        .generate_sync_message(&mut ds)
        .expect("a message");
    (server, ss, m.encode())
}

fn bench_sync(c: &mut Criterion) {
    let (server, state, data) = one_edit_message();
    let mut g = c.benchmark_group("sync");
    g.bench_function("automerge: receive one edit into an inspection", |b| {
        b.iter_batched(
            || (server.clone(), state.clone()),
            |(mut doc, mut st)| {
                let m = sync::Message::decode(&data).expect("decode");
                doc.sync()
                    .receive_sync_message(&mut st, m)
                    .expect("receive");
                black_box(doc.sync().generate_sync_message(&mut st))
            },
            BatchSize::SmallInput,
        );
    });

    // The hub: a joined connection that synced the record, then the edit's frame.
    let doc_id = DocumentId::from_bytes([9; 16]);
    let mut stored = server.clone();
    let stored = stored.save();
    let peer = PeerId::new("bench-device");
    let hub_ready = || {
        let mut hub = Hub::new(HubConfig {
            peer_id: PeerId::new("bench-server"),
            storage_id: StorageId::new("bench-storage"),
            limits: HubLimits::default(),
        });
        hub.connect(
            1,
            Principal {
                user: "qc1".into(),
                role: Role::Qc,
                factory: None,
                warehouse: None,
                titles: Vec::new(),
            },
            NOW,
        );
        let join = Message::Join {
            sender_id: peer.clone(),
            peer_metadata: None,
            supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
        };
        hub.receive(1, &encode(&join), NOW);
        hub.loaded(doc_id, Some(&stored), NOW).expect("load");
        let _ = hub.take_output();
        hub
    };
    // A fresh device state against the hub: the first message is the full "have" summary;
    // sync them until quiet, then send the one edit.
    let frame = encode(&Message::Sync {
        sender_id: peer.clone(),
        target_id: PeerId::new("bench-server"),
        document_id: doc_id,
        data: data.clone(),
    });
    g.bench_function("hub: receive one edit (check, merge, save, reply)", |b| {
        b.iter_batched(
            hub_ready,
            |mut hub| {
                hub.receive(1, &frame, NOW + 2);
                hub.flush(NOW + 2);
                black_box(hub.take_output())
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

fn bench_aql(c: &mut Criterion) {
    let mut g = c.benchmark_group("aql");
    g.bench_function("plan: lot 5000, level II, AQL 2.5", |b| {
        b.iter(|| aql::plan(black_box(5000), InspectionLevel::II, Aql::A2_5).expect("plan"));
    });
    let settings = AqlSettings::default();
    g.bench_function(
        "inspection plan: lot 5000, default settings (3 classes)",
        |b| {
            b.iter(|| aql::inspection_plan(black_box(5000), &settings).expect("plan"));
        },
    );
    g.finish();
}

fn bench_index(c: &mut Criterion) {
    let ctx = EditContext::new("qc1", NOW);
    let summaries: Vec<(String, summary::Summary)> = (0..500)
        .map(|i| {
            let new = NewInspection {
                title: format!("Inspection #{i}"),
                order_no: format!("SO-{i}"),
                factory: "Ningbo Knitwear No. 3".into(),
                lot_size: 5000,
                due_ms: NOW,
                assignees: vec!["qc1".into()],
                ..NewInspection::default()
            };
            let record =
                inspection::create(&new, actor_from_bytes(&[4; 16]), &ctx).expect("create");
            let id = DocumentId::from_bytes([
                (i % 251) as u8,
                (i / 251) as u8,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                8,
                9,
                10,
                11,
                12,
                13,
                14,
            ]);
            (
                id.to_string(),
                summary::summarize(&record).expect("summary"),
            )
        })
        .collect();
    let mut g = c.benchmark_group("index");
    g.sample_size(20);
    g.bench_function("rebuild a user's index of 500 records", |b| {
        b.iter(|| {
            let mut doc =
                summary::new_index("qc1", actor_from_bytes(&[5; 16]), &ctx).expect("index");
            for (id, s) in &summaries {
                summary::index_put(&mut doc, id, s).expect("put");
            }
            doc.commit();
            black_box(doc.save())
        });
    });
    let mut one = realistic_inspection();
    g.bench_function("summarize an inspection (200 defects, 100 readings)", |b| {
        b.iter(|| summary::summarize(black_box(&one)).expect("summary"));
    });
    g.bench_function("read a typed inspection (autosurgeon hydrate)", |b| {
        b.iter(|| black_box(one.read::<inspection::Inspection>().expect("read")));
    });
    g.bench_function("materialize an inspection (automerge hydrate)", |b| {
        b.iter(|| black_box(one.doc_mut().document().hydrate(None)));
    });
    let _ = one.save();
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_sync, bench_record, bench_aql, bench_index
}
criterion_main!(benches);
