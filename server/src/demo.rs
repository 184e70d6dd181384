//! The demo data set (`gendan demo`, `gendan serve --demo`): users of every role and records
//! at several stages, enough to try every screen. Every demo user's password is
//! [`DEMO_PASSWORD`].

use std::collections::BTreeMap;

use gendan_core::access::Role;
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, MeasurementPoint, NewInspection};
use gendan_core::order::{self, NewOrder, OrderLine, PaymentTerm};
use gendan_core::protocol::DocumentId;
use gendan_core::purchase_order::{self, NewPurchaseOrder, ProcessSheet};
use gendan_core::record::actor_from_bytes;
use gendan_core::shipment::{self, NewPackingLine, NewShipmentCheck};
use gendan_core::stock_count::{self, NewLine, NewStockCount};
use gendan_core::{Record, approval};

use crate::accounts::NewUser;
use crate::persist::ServerStorage;
use crate::sync::{SyncHandle, random_bytes16};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "gendan-demo";

/// The demo factory.
pub const DEMO_FACTORY: &str = "Dongguan Hengli Garments";
/// The demo warehouse.
pub const DEMO_WAREHOUSE: &str = "WH-Shenzhen";

/// The demo users: username, role, display name.
pub const DEMO_USERS: &[(&str, Role, &str)] = &[
    ("admin", Role::Admin, "Admin"),
    ("merch", Role::Merchandiser, "王丽 Wang Li"),
    ("sales", Role::Sales, "陈杰 Chen Jie"),
    ("boss", Role::Approver, "赵总 GM Zhao"),
    ("qc1", Role::Qc, "李强 Li Qiang"),
    ("qc2", Role::Qc, "刘洋 Liu Yang"),
    ("clerk1", Role::Warehouse, "张敏 Zhang Min"),
    ("clerk2", Role::Warehouse, "黄伟 Huang Wei"),
    ("dock1", Role::Shipping, "周涛 Zhou Tao"),
    ("factory1", Role::Factory, "Hengli QA"),
];

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const DAY_MS: i64 = 86_400_000;

/// Loads the demo data when the store has no users yet. Returns whether it did.
pub async fn seed_if_empty(storage: &ServerStorage, sync: &SyncHandle) -> anyhow::Result<bool> {
    if !storage.accounts.list_users()?.is_empty() {
        return Ok(false);
    }
    for (username, role, name) in DEMO_USERS {
        storage.accounts.add_user(NewUser {
            username: (*username).into(),
            password: DEMO_PASSWORD.into(),
            role: *role,
            display_name: Some((*name).into()),
            factory: (*role == Role::Factory).then(|| DEMO_FACTORY.to_string()),
            warehouse: (*role == Role::Warehouse).then(|| DEMO_WAREHOUSE.to_string()),
            titles: Vec::new(),
        })?;
    }
    storage.store.flush()?;
    for (user, mut record) in demo_records(now_ms())? {
        let id = DocumentId::from_bytes(random_bytes16());
        sync.create(id, record.save(), &user)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    tracing::info!(
        users = DEMO_USERS.len(),
        "demo data loaded (password: {DEMO_PASSWORD})"
    );
    Ok(true)
}

fn actor() -> automerge::ActorId {
    actor_from_bytes(&random_bytes16())
}

/// The demo records with the user who creates each.
pub fn demo_records(now: i64) -> anyhow::Result<Vec<(String, Record)>> {
    let merch = EditContext::new("merch", now);
    let mut out = Vec::new();

    let mut sizes = BTreeMap::new();
    for (s, q) in [("S", 600), ("M", 1200), ("L", 1000), ("XL", 400)] {
        sizes.insert(s.to_string(), gendan_core::common::Int(q));
    }
    let mut lines = BTreeMap::new();
    lines.insert(
        "navy".to_string(),
        OrderLine {
            colour: "Navy 藏青".into(),
            sizes: sizes.clone(),
            ..OrderLine::default()
        },
    );
    lines.insert(
        "grey".to_string(),
        OrderLine {
            colour: "Heather grey 麻灰".into(),
            sizes,
            ..OrderLine::default()
        },
    );
    let order = order::create(
        &NewOrder {
            order_no: "SO-2026-0815".into(),
            style_no: "HL-TS-2231".into(),
            customer: "Northwind Retail".into(),
            description: "Men's crew-neck T-shirt, 180 g/m² combed cotton".into(),
            factory: DEMO_FACTORY.into(),
            merchandiser: "merch".into(),
            sales: "sales".into(),
            delivery_ms: now + 40 * DAY_MS,
            lines,
        },
        actor(),
        &merch,
    )?;
    // Its Time & Action plan, planned backwards from the delivery date, with the first
    // steps (contract review, handover) done.
    let mut order = order;
    order::apply(
        &mut order,
        &order::OrderOp::PlanBackwards {
            owners: BTreeMap::new(),
        },
        "demo-plan",
        &merch,
    )?;
    let planned: order::Order = order.read()?;
    for (n, code) in ["contract_review", "handover"].into_iter().enumerate() {
        if let Some(m) = planned.milestones.get(code) {
            order::apply(
                &mut order,
                &serde_json::from_value(serde_json::json!({
                    "op": "complete_milestone", "id": code, "actual_ms": m.planned_ms.0,
                }))?,
                &format!("demo-done-{n}"),
                &merch,
            )?;
        }
    }
    out.push(("merch".into(), order));
    let commercial =
        order::create_commercial("", "SO-2026-0815", PaymentTerm::Deposit, actor(), &merch);
    if let Ok(c) = commercial {
        out.push(("merch".into(), c));
    }
    let po = purchase_order::create(
        &NewPurchaseOrder {
            po_no: "PO-2026-0815-01".into(),
            order_no: "SO-2026-0815".into(),
            style_no: "HL-TS-2231".into(),
            factory: DEMO_FACTORY.into(),
            ex_factory_ms: now + 30 * DAY_MS,
            process_sheet: ProcessSheet {
                construction: "Crew neck with 1x1 rib, twin-needle hems".into(),
                workmanship: "No open seams; stitch density 12 per 3 cm".into(),
                carton_packing: "12 pcs per carton, solid colour solid size, polybag each".into(),
            },
            ..NewPurchaseOrder::default()
        },
        actor(),
        &merch,
    )?;
    out.push(("merch".into(), po));

    let mut points = BTreeMap::new();
    for (id, name, target, tol) in [
        ("chest", "1/2 chest 胸围", 52.0, 1.0),
        ("length", "Body length 衣长", 72.0, 1.5),
        ("sleeve", "Sleeve length 袖长", 21.0, 0.8),
    ] {
        points.insert(
            id.to_string(),
            MeasurementPoint {
                name: name.into(),
                size: "M".into(),
                target: target.into(),
                tol_minus: tol.into(),
                tol_plus: tol.into(),
                unit: "cm".into(),
            },
        );
    }
    let final_inspection = inspection::create(
        &NewInspection {
            title: "Final inspection HL-TS-2231".into(),
            order_no: "SO-2026-0815".into(),
            po_no: "PO-2026-0815-01".into(),
            style_no: "HL-TS-2231".into(),
            customer: "Northwind Retail".into(),
            factory: DEMO_FACTORY.into(),
            inspection_type: inspection::InspectionType::PreShipment,
            lot_size: 6400,
            due_ms: now + 2 * DAY_MS,
            assignees: vec!["qc1".into(), "qc2".into()],
            points: points.clone(),
            aql: None,
        },
        actor(),
        &merch,
    )?;
    out.push(("merch".into(), final_inspection));
    let inline = inspection::create(
        &NewInspection {
            title: "Inline inspection HL-TS-2231".into(),
            order_no: "SO-2026-0815".into(),
            po_no: "PO-2026-0815-01".into(),
            style_no: "HL-TS-2231".into(),
            customer: "Northwind Retail".into(),
            factory: DEMO_FACTORY.into(),
            inspection_type: inspection::InspectionType::Inline,
            lot_size: 1200,
            due_ms: now + DAY_MS,
            assignees: vec!["qc1".into()],
            points,
            aql: None,
        },
        actor(),
        &merch,
    )?;
    out.push(("merch".into(), inline));

    let mut count_lines = BTreeMap::new();
    for (i, (bin, sku, desc, expected)) in [
        ("A-01-1", "HL-TS-2231-NV-M", "T-shirt navy M", 240),
        ("A-01-2", "HL-TS-2231-NV-L", "T-shirt navy L", 200),
        ("A-02-1", "HL-TS-2231-GY-M", "T-shirt grey M", 240),
        ("B-03-4", "CTN-60x40x30", "Export carton 60x40x30", 500),
        ("B-03-5", "HT-NW-01", "Hang tag Northwind", 5000),
    ]
    .into_iter()
    .enumerate()
    {
        count_lines.insert(
            format!("l{}", i + 1),
            NewLine {
                location: bin.into(),
                sku: sku.into(),
                description: desc.into(),
                unit: "pcs".into(),
                expected,
                safety_stock: expected / 10,
            },
        );
    }
    let count = stock_count::create(
        &NewStockCount {
            title: "Monthly count WH-Shenzhen zone A/B".into(),
            warehouse: DEMO_WAREHOUSE.into(),
            due_ms: now + DAY_MS,
            blind: true,
            threshold_qty: Some(2),
            threshold_pct: Some(1.0),
            assignees: vec!["clerk1".into(), "clerk2".into()],
            lines: count_lines,
        },
        actor(),
        &merch,
    )?;
    out.push(("merch".into(), count));

    let mut packing = BTreeMap::new();
    packing.insert(
        "p1".to_string(),
        NewPackingLine {
            po_no: "PO-2026-0815-01".into(),
            style_no: "HL-TS-2231".into(),
            description: "Navy S–XL".into(),
            cartons_expected: 267,
            qty_per_carton: 12,
            shipping_mark: "NORTHWIND / SO-2026-0815 / C/NO. 1-267".into(),
        },
    );
    packing.insert(
        "p2".to_string(),
        NewPackingLine {
            po_no: "PO-2026-0815-01".into(),
            style_no: "HL-TS-2231".into(),
            description: "Grey S–XL".into(),
            cartons_expected: 267,
            qty_per_carton: 12,
            shipping_mark: "NORTHWIND / SO-2026-0815 / C/NO. 268-534".into(),
        },
    );
    let check = shipment::create(
        &NewShipmentCheck {
            title: "Container loading SO-2026-0815".into(),
            order_no: "SO-2026-0815".into(),
            customer: "Northwind Retail".into(),
            factory: DEMO_FACTORY.into(),
            booking_no: "BKG-778120".into(),
            container_type: "40HQ".into(),
            due_ms: now + 35 * DAY_MS,
            assignees: vec!["dock1".into()],
            lines: packing,
            ..NewShipmentCheck::default()
        },
        actor(),
        &merch,
    )?;
    out.push(("merch".into(), check));

    let request = approval::create(
        &approval::NewApproval {
            kind: approval::ApprovalKind::Special,
            subject: "Release PO-2026-0815-01 before the deposit arrives (customer's bank holiday)"
                .into(),
            order_no: "SO-2026-0815".into(),
            steps: vec![("approver".into(), 1)],
            ..approval::NewApproval::default()
        },
        actor(),
        &merch,
    )?;
    out.push(("merch".into(), request));
    Ok(out)
}
