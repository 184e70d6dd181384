//! The demo data set (`gendan demo`, `gendan serve --demo`): users of every role with their
//! job titles, several customers, factories and warehouses, and orders at every stage of
//! the order follow-up flow (PRODUCT.md), from a contract review still waiting for
//! signatures to an order shipped, delivered and archived. Every date is computed from the
//! time the demo is loaded, so the stages (late milestones, a shipping-marks reminder, a
//! pending special approval) read the same whenever it is loaded. Every demo user's
//! password is [`DEMO_PASSWORD`]; [`DEMO_ORDERS`] lists what each order shows.

use std::collections::BTreeMap;

use gendan_core::access::Role;
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, MeasurementPoint, NewInspection};
use gendan_core::order::{self, NewOrder, OrderLine, PaymentTerm};
use gendan_core::protocol::DocumentId;
use gendan_core::purchase_order::{self, ProcessSheet};
use gendan_core::record::actor_from_bytes;
use gendan_core::shipment::{self, NewPackingLine, NewShipmentCheck};
use gendan_core::stock_count::{self, NewLine, NewStockCount};
use gendan_core::{Record, approval, chains, ops, payment_gate};

use crate::accounts::NewUser;
use crate::persist::ServerStorage;
use crate::sync::{SyncHandle, random_bytes16};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "gendan-demo";

/// The demo factory most orders go to.
pub const DEMO_FACTORY: &str = "Dongguan Hengli Garments";
/// A second supplier factory.
pub const DEMO_FACTORY_KNIT: &str = "Ningbo Sunrise Knitting";
/// A third supplier factory (no user of its own).
pub const DEMO_FACTORY_WOVEN: &str = "Shaoxing Jinlong Textiles";
/// The demo warehouse.
pub const DEMO_WAREHOUSE: &str = "WH-Shenzhen";
/// A second warehouse, with its own clerk.
pub const DEMO_WAREHOUSE_NINGBO: &str = "WH-Ningbo";

/// One demo user.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    /// Login name.
    pub username: &'static str,
    /// Access role.
    pub role: Role,
    /// Display name.
    pub name: &'static str,
    /// Job titles (which approval steps they decide).
    pub titles: &'static [&'static str],
    /// The factory of a factory user.
    pub factory: Option<&'static str>,
    /// The warehouse of a clerk.
    pub warehouse: Option<&'static str>,
}

const fn user(
    username: &'static str,
    role: Role,
    name: &'static str,
    titles: &'static [&'static str],
) -> DemoUser {
    DemoUser {
        username,
        role,
        name,
        titles,
        factory: None,
        warehouse: None,
    }
}

/// The general manager's job title ([`chains::GENERAL_MANAGER`]).
const GM: &str = chains::GENERAL_MANAGER;

/// The demo users.
pub const DEMO_USERS: &[DemoUser] = &[
    user("admin", Role::Admin, "Admin", &["system_administrator"]),
    user(
        "merch",
        Role::Merchandiser,
        "王丽 Wang Li",
        &["merchandiser"],
    ),
    user(
        "merch2",
        Role::Merchandiser,
        "孙婷 Sun Ting",
        &["merchandiser"],
    ),
    user("sales", Role::Sales, "陈杰 Chen Jie", &["sales_rep"]),
    user(
        "salesmgr",
        Role::Approver,
        "吴敏 Wu Min (sales manager)",
        &["sales_manager"],
    ),
    user(
        "pcm",
        Role::Approver,
        "郑伟 Zheng Wei (product control manager)",
        &["product_control_manager"],
    ),
    user(
        "finance",
        Role::Approver,
        "钱芳 Qian Fang (finance manager)",
        // Confirms deposits (`finance`) and, as head of finance, signs the cost sheet.
        &["finance", "finance_manager"],
    ),
    user("boss", Role::Approver, "赵总 GM Zhao", &[GM]),
    user("qc1", Role::Qc, "李强 Li Qiang", &["qc_inspector"]),
    user("qc2", Role::Qc, "刘洋 Liu Yang", &["qc_inspector"]),
    DemoUser {
        warehouse: Some(DEMO_WAREHOUSE),
        ..user(
            "clerk1",
            Role::Warehouse,
            "张敏 Zhang Min",
            &["warehouse_clerk"],
        )
    },
    DemoUser {
        warehouse: Some(DEMO_WAREHOUSE),
        ..user(
            "clerk2",
            Role::Warehouse,
            "黄伟 Huang Wei",
            &["warehouse_clerk"],
        )
    },
    DemoUser {
        warehouse: Some(DEMO_WAREHOUSE_NINGBO),
        ..user(
            "clerk3",
            Role::Warehouse,
            "马超 Ma Chao",
            &["warehouse_clerk"],
        )
    },
    user(
        "dock1",
        Role::Shipping,
        "周涛 Zhou Tao",
        &[chains::SHIPPING_CLERK],
    ),
    DemoUser {
        factory: Some(DEMO_FACTORY),
        ..user("factory1", Role::Factory, "Hengli QA", &["factory_qa"])
    },
    DemoUser {
        factory: Some(DEMO_FACTORY_KNIT),
        ..user("factory2", Role::Factory, "Sunrise QA", &["factory_qa"])
    },
];

/// The demo orders by order no., with the stage of the flow each one shows.
pub const DEMO_ORDERS: &[(&str, &str)] = &[
    (
        "SO-2026-0901",
        "contract review pending: cost sheet not signed by finance and the GM",
    ),
    (
        "SO-2026-0902",
        "handover refused by the merchandiser: items missing",
    ),
    (
        "SO-2026-0903",
        "PO drafted and signed, blocked: L/C not received",
    ),
    (
        "SO-2026-0904",
        "PO blocked on the deposit; the GM's special approval pending",
    ),
    (
        "SO-2026-0905",
        "PO released (T/T); samples in rounds with comments; shipping marks missing 18 days before delivery",
    ),
    (
        "SO-2026-0815",
        "production with late T&A milestones (at risk); inspections and the container check pending",
    ),
    ("SO-2026-0906", "inline inspection failed"),
    (
        "SO-2026-0907",
        "final inspection passed; container loading in progress",
    ),
    (
        "SO-2026-0908",
        "shipped, cleared, delivery confirmed with feedback: archived",
    ),
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
    for u in DEMO_USERS {
        storage.accounts.add_user(NewUser {
            username: u.username.into(),
            password: DEMO_PASSWORD.into(),
            role: u.role,
            display_name: Some(u.name.into()),
            factory: u.factory.map(str::to_string),
            warehouse: u.warehouse.map(str::to_string),
            titles: u.titles.iter().map(|t| (*t).to_string()).collect(),
        })?;
    }
    storage.store.flush()?;
    for (user, id, mut record) in demo_records(now_ms())? {
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

/// Builds the demo records: the time they are made at, and what is made so far.
struct Demo {
    now: i64,
    /// The document id of each order, by order no. (the commercial side and the PO name it).
    ids: BTreeMap<String, DocumentId>,
    out: Vec<(String, DocumentId, Record)>,
}

/// An accessory picture (the demo has no blobs; the hash stands for one).
const DEMO_PICTURE: &str = "5e8ff9bf55ba3508199d22e984129be6b9a4d81ce0d4a0c0a8f0a0f0a0b0c0d0";

impl Demo {
    fn ctx(&self, user: &str, days_ago: i64) -> EditContext {
        EditContext::new(user, self.now - days_ago * DAY_MS)
    }

    /// Applies one operation, given as JSON, as `user` `days_ago` days before now.
    fn op(
        &self,
        r: &mut Record,
        user: &str,
        days_ago: i64,
        op: serde_json::Value,
    ) -> anyhow::Result<()> {
        ops::apply_json(r, &op.to_string(), &self.ctx(user, days_ago))
            .map_err(|e| anyhow::anyhow!("demo {op}: {e}"))
    }

    /// An order of one style in two colours, created by sales `age` days ago.
    #[allow(clippy::too_many_arguments, reason = "one call per demo order")]
    fn order(
        &mut self,
        order_no: &str,
        style_no: &str,
        customer: &str,
        factory: &str,
        merchandiser: &str,
        description: &str,
        age: i64,
        delivery_in: i64,
    ) -> anyhow::Result<Record> {
        let mut sizes = BTreeMap::new();
        for (s, q) in [("S", 600), ("M", 1200), ("L", 1000), ("XL", 400)] {
            sizes.insert(s.to_string(), gendan_core::common::Int(q));
        }
        let mut lines = BTreeMap::new();
        for (id, colour) in [("navy", "Navy 藏青"), ("grey", "Heather grey 麻灰")] {
            lines.insert(
                id.to_string(),
                OrderLine {
                    colour: colour.into(),
                    sizes: sizes.clone(),
                    ..OrderLine::default()
                },
            );
        }
        self.ids.insert(
            order_no.to_string(),
            DocumentId::from_bytes(random_bytes16()),
        );
        Ok(order::create(
            &NewOrder {
                order_no: order_no.into(),
                style_no: style_no.into(),
                customer: customer.into(),
                description: description.into(),
                factory: factory.into(),
                merchandiser: merchandiser.into(),
                sales: "sales".into(),
                delivery_ms: self.now + delivery_in * DAY_MS,
                lines,
            },
            actor(),
            &self.ctx("sales", age),
        )?)
    }

    fn commercial(&self, order_no: &str, term: PaymentTerm, age: i64) -> anyhow::Result<Record> {
        let order_id = self.ids[order_no].to_string();
        let mut c =
            order::create_commercial(&order_id, order_no, term, actor(), &self.ctx("sales", age))?;
        if term == PaymentTerm::Deposit {
            self.op(
                &mut c,
                "sales",
                age,
                serde_json::json!({"op": "set_payment_term", "term": "deposit", "deposit_pct": 30}),
            )?;
        }
        self.op(
            &mut c,
            "sales",
            age,
            serde_json::json!({"op": "require_cost_sheet_signer", "department": "finance"}),
        )?;
        Ok(c)
    }

    /// The contract review's sign-offs, in the seed's order; `upto` of the four.
    fn review(&self, c: &mut Record, age: i64, upto: usize) -> anyhow::Result<()> {
        let signs = [
            ("pcm", "price_check", ""),
            ("merch", "tracking_sheet", ""),
            ("finance", "cost_sheet", "finance"),
            ("boss", "cost_sheet", GM),
        ];
        for (user, step, department) in signs.into_iter().take(upto) {
            self.op(
                c,
                user,
                age,
                serde_json::json!({"op": "sign_review", "step": step, "department": department, "name": user}),
            )?;
        }
        Ok(())
    }

    /// Sales hands the contract, a swatch and a picture over, all marked; accepted.
    fn handover(&self, o: &mut Record, order_no: &str, age: i64) -> anyhow::Result<()> {
        for (id, kind, description, photo) in [
            ("contract", "file", "sales contract and cost sheet", ""),
            (
                "swatch",
                "sample",
                "navy and grey swatches, match under D65",
                "",
            ),
            (
                "front",
                "picture",
                "front view with the chest print",
                DEMO_PICTURE,
            ),
        ] {
            self.op(
                o,
                "sales",
                age,
                serde_json::json!({"op": "add_handover_item", "id": id, "kind": kind,
                    "description": description, "contract_no": order_no, "photo_sha256": photo}),
            )?;
        }
        self.op(
            o,
            "merch",
            age,
            serde_json::json!({"op": "accept_handover", "id": "a1"}),
        )
    }

    /// The T&A plan backwards from delivery; the milestones planned before `done_before`
    /// days ago are done on their planned day.
    fn plan(&self, o: &mut Record, age: i64, done_before: i64) -> anyhow::Result<()> {
        self.op(o, "merch", age, serde_json::json!({"op": "plan_backwards"}))?;
        let planned: order::Order = o.read()?;
        let mut milestones: Vec<_> = planned.milestones.iter().collect();
        milestones.sort_by_key(|(_, m)| m.planned_ms.0);
        for (id, m) in milestones {
            if m.planned_ms.0 <= self.now - done_before * DAY_MS {
                let days_ago = (self.now - m.planned_ms.0) / DAY_MS;
                self.op(
                    o,
                    "merch",
                    days_ago,
                    serde_json::json!({"op": "complete_milestone", "id": id, "actual_ms": m.planned_ms.0}),
                )?;
            }
        }
        Ok(())
    }

    /// A PO drafted from the order, with its process sheet and one accessory, signed by
    /// sales and the general manager.
    fn po(&self, o: &Record, po_no: &str, age: i64) -> anyhow::Result<Record> {
        let order: order::Order = o.read()?;
        let mut accessories = BTreeMap::new();
        let mut pictures = BTreeMap::new();
        pictures.insert(
            DEMO_PICTURE.to_string(),
            gendan_core::common::PhotoRef {
                sha256: DEMO_PICTURE.into(),
                ..gendan_core::common::PhotoRef::default()
            },
        );
        accessories.insert(
            "main_label".to_string(),
            purchase_order::Accessory {
                item: "Main label 主唛".into(),
                position: "centre back neck, 1 cm below the seam".into(),
                pictures,
                ..purchase_order::Accessory::default()
            },
        );
        let order_id = self.ids[&order.order_no].to_string();
        let new = purchase_order::draft_from_order(
            &order,
            &order_id,
            po_no,
            10,
            ProcessSheet {
                construction: "Crew neck with 1x1 rib, twin-needle hems".into(),
                workmanship: "No open seams; stitch density 12 per 3 cm".into(),
                carton_packing: "12 pcs per carton, solid colour solid size, polybag each".into(),
            },
            accessories,
        );
        let mut po = purchase_order::create(&new, actor(), &self.ctx("merch", age))?;
        for (role, user) in [("sales", "sales"), ("general_manager", "boss")] {
            self.op(
                &mut po,
                user,
                age,
                serde_json::json!({"op": "sign", "role": role, "name": user}),
            )?;
        }
        Ok(po)
    }

    /// Releases the PO through the payment gate of `commercial`, as the office API does.
    fn release(&self, po: &mut Record, commercial: &Record, age: i64) -> anyhow::Result<()> {
        let gate = payment_gate::gate(&commercial.read()?, None);
        let op = serde_json::json!({"op": "release", "released_ms": self.now - age * DAY_MS});
        ops::apply_json_with_gate(po, &op.to_string(), Some(&gate), &self.ctx("merch", age))
            .map_err(|e| anyhow::anyhow!("demo release: {e}"))
    }

    #[allow(clippy::too_many_arguments, reason = "one call per demo inspection")]
    fn inspection(
        &self,
        title: &str,
        order_no: &str,
        customer: &str,
        factory: &str,
        kind: inspection::InspectionType,
        lot_size: u64,
        due_in: i64,
        assignees: &[&str],
    ) -> anyhow::Result<Record> {
        Ok(inspection::create(
            &NewInspection {
                title: title.into(),
                order_no: order_no.into(),
                po_no: format!("PO-{}-01", &order_no[3..]),
                style_no: String::new(),
                customer: customer.into(),
                factory: factory.into(),
                inspection_type: kind,
                lot_size,
                due_ms: self.now + due_in * DAY_MS,
                assignees: assignees.iter().map(|a| (*a).to_string()).collect(),
                points: BTreeMap::new(),
                aql: None,
            },
            actor(),
            &self.ctx("merch", 10),
        )?)
    }

    /// Adds a record as created by `user`; an order gets the id its other records name.
    fn push(&mut self, user: &str, r: Record) {
        let id = match r.read::<order::Order>() {
            Ok(o) if r.record_type() == gendan_core::record::RecordType::Order => {
                self.ids[&o.order_no]
            }
            _ => DocumentId::from_bytes(random_bytes16()),
        };
        self.out.push((user.to_string(), id, r));
    }
}

/// The demo records with the user who creates each and its document id, as they stand
/// at `now` (ms).
pub fn demo_records(now: i64) -> anyhow::Result<Vec<(String, DocumentId, Record)>> {
    use serde_json::json;
    let mut d = Demo {
        now,
        ids: BTreeMap::new(),
        out: Vec::new(),
    };

    // 1. Contract review pending: the product control manager checked the price; the
    // tracking sheet and the cost sheet (finance, GM) are not signed yet.
    let o = d.order(
        "SO-2026-0901",
        "BW-PL-5510",
        "Bluewater Outfitters",
        DEMO_FACTORY_KNIT,
        "merch2",
        "Women's polo, piqué 200 g/m²",
        2,
        90,
    )?;
    let mut c = d.commercial("SO-2026-0901", PaymentTerm::Deposit, 2)?;
    d.review(&mut c, 1, 1)?;
    d.push("sales", o);
    d.push("sales", c);

    // 2. Handover refused: the swatch card is not marked with the contract no. and the
    // pictures were not put in the system (跟单员有权拒收).
    let mut o = d.order(
        "SO-2026-0902",
        "AK-HD-2040",
        "Alpine Kids GmbH",
        DEMO_FACTORY_WOVEN,
        "merch",
        "Kids' hooded jacket, woven shell",
        6,
        75,
    )?;
    let mut c = d.commercial("SO-2026-0902", PaymentTerm::DocumentsAgainstPayment, 6)?;
    d.review(&mut c, 5, 4)?;
    for (id, kind, contract_no, photo) in [
        ("contract", "file", "SO-2026-0902", ""),
        ("swatch", "sample", "", ""),
        ("front", "picture", "SO-2026-0902", ""),
    ] {
        d.op(
            &mut o,
            "sales",
            4,
            json!({"op": "add_handover_item", "id": id, "kind": kind,
                "description": format!("{id} for AK-HD-2040"), "contract_no": contract_no,
                "photo_sha256": photo}),
        )?;
    }
    d.op(
        &mut o,
        "merch",
        3,
        json!({"op": "refuse_handover", "id": "r1",
            "missing": "swatch card not marked with the contract no.; front picture not in the system"}),
    )?;
    d.push("sales", o);
    d.push("sales", c);

    // 3. L/C order: the PO is drafted and signed, but released only once the L/C is
    // received and checked.
    let mut o = d.order(
        "SO-2026-0903",
        "MC-SW-7781",
        "Maple & Co",
        DEMO_FACTORY,
        "merch",
        "Men's crew sweatshirt, brushed fleece",
        12,
        70,
    )?;
    let mut c = d.commercial("SO-2026-0903", PaymentTerm::LetterOfCredit, 12)?;
    d.review(&mut c, 11, 4)?;
    d.handover(&mut o, "SO-2026-0903", 10)?;
    d.plan(&mut o, 10, 0)?;
    let po = d.po(&o, "PO-2026-0903-01", 8)?;
    d.push("sales", o);
    d.push("sales", c);
    d.push("merch", po);

    // 4. Deposit order: the PO is blocked until finance confirms the deposit; the
    // merchandiser asked the general manager's special approval to release it now.
    let mut o = d.order(
        "SO-2026-0904",
        "NW-TK-3302",
        "Northwind Retail",
        DEMO_FACTORY_KNIT,
        "merch",
        "Women's tank top, modal jersey",
        9,
        60,
    )?;
    let mut c = d.commercial("SO-2026-0904", PaymentTerm::Deposit, 9)?;
    d.review(&mut c, 8, 4)?;
    d.handover(&mut o, "SO-2026-0904", 7)?;
    d.plan(&mut o, 7, 0)?;
    let po = d.po(&o, "PO-2026-0904-01", 3)?;
    let mut special = chains::new_request(
        &chains::SPECIAL_PO_RELEASE,
        "Release PO-2026-0904-01 before the deposit arrives (customer's bank holiday)",
    );
    special.order_no = "SO-2026-0904".into();
    special.reason = "Factory slot on Monday; the deposit is promised for Thursday".into();
    let request = approval::create(&special, actor(), &d.ctx("merch", 0))?;
    d.push("sales", o);
    d.push("sales", c);
    d.push("merch", po);
    d.push("merch", request);

    // 5. T/T before shipment: released at once. Samples: the proto came back with
    // comments, the PP sample is with the customer. Delivery in 18 days and no shipping
    // marks yet: the merchandiser is reminded to chase them.
    let mut o = d.order(
        "SO-2026-0905",
        "BW-SH-1208",
        "Bluewater Outfitters",
        DEMO_FACTORY,
        "merch2",
        "Men's oxford shirt, long sleeve",
        40,
        18,
    )?;
    let mut c = d.commercial("SO-2026-0905", PaymentTerm::TtBeforeShipment, 40)?;
    d.review(&mut c, 39, 4)?;
    d.handover(&mut o, "SO-2026-0905", 38)?;
    let mut po = d.po(&o, "PO-2026-0905-01", 36)?;
    d.release(&mut po, &c, 35)?;
    d.op(
        &mut o,
        "merch2",
        30,
        json!({"op": "add_sample", "id": "proto", "round": "proto", "sent_ms": now - 30 * DAY_MS}),
    )?;
    for (id, text) in [
        ("c1", "Collar points 0.5 cm shorter"),
        ("c2", "Sleeve placket: use the blue-grey button, not white"),
    ] {
        d.op(
            &mut o,
            "merch2",
            25,
            json!({"op": "comment_sample", "sample": "proto", "id": id, "text": text}),
        )?;
    }
    d.op(
        &mut o,
        "merch2",
        12,
        json!({"op": "add_sample", "id": "pp", "round": "pp", "sent_ms": now - 12 * DAY_MS}),
    )?;
    d.op(&mut o, "merch2", 5, json!({"op": "comment_sample", "sample": "pp", "id": "c3", "text": "Customer: colour OK, waiting for the fit check"}))?;
    d.push("sales", o);
    d.push("sales", c);
    d.push("merch", po);

    // 6. In production, behind plan: milestones due in the last three weeks are not done,
    // and the factory's weekly output is far below its schedule. Inspections and the
    // container check are booked.
    let mut o = d.order(
        "SO-2026-0815",
        "HL-TS-2231",
        "Northwind Retail",
        DEMO_FACTORY,
        "merch",
        "Men's crew-neck T-shirt, 180 g/m² combed cotton",
        60,
        40,
    )?;
    let mut c = d.commercial("SO-2026-0815", PaymentTerm::Deposit, 60)?;
    d.review(&mut c, 59, 4)?;
    d.op(
        &mut c,
        "finance",
        50,
        json!({"op": "confirm_deposit",
        "amount": {"minor": 1_200_000, "currency": "USD"}, "received_ms": now - 50 * DAY_MS}),
    )?;
    d.handover(&mut o, "SO-2026-0815", 58)?;
    d.plan(&mut o, 57, 21)?;
    let mut po = d.po(&o, "PO-2026-0815-01", 52)?;
    d.release(&mut po, &c, 49)?;
    for (weeks_ago, planned, actual) in [(3, 1600, 1500), (2, 1800, 700), (1, 1800, 500)] {
        let week_ms = now - weeks_ago * 7 * DAY_MS;
        d.op(
            &mut o,
            "merch",
            weeks_ago * 7,
            json!({"op": "set_week_planned", "week_ms": week_ms, "qty": planned}),
        )?;
        d.op(
            &mut o,
            "merch",
            weeks_ago * 7 - 1,
            json!({"op": "set_week_actual", "week_ms": week_ms, "qty": actual}),
        )?;
    }
    d.push("sales", o);
    d.push("sales", c);
    d.push("merch", po);

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
        &d.ctx("merch", 20),
    )?;
    d.push("merch", final_inspection);
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
        &d.ctx("merch", 20),
    )?;
    d.push("merch", inline);

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
        &d.ctx("merch", 20),
    )?;
    d.push("merch", count);

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
            barcode: "NW0815-NAVY".into(),
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
            barcode: "NW0815-GREY".into(),
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
        &d.ctx("merch", 20),
    )?;
    d.push("merch", check);

    // 7. Inline inspection failed: major defects over the reject number.
    let mut o = d.order(
        "SO-2026-0906",
        "AK-PT-1190",
        "Alpine Kids GmbH",
        DEMO_FACTORY_WOVEN,
        "merch2",
        "Kids' chino trousers",
        45,
        30,
    )?;
    d.plan(&mut o, 44, 0)?;
    let mut failed = d.inspection(
        "Inline check AK-PT-1190 (failed)",
        "SO-2026-0906",
        "Alpine Kids GmbH",
        DEMO_FACTORY_WOVEN,
        inspection::InspectionType::Inline,
        1200,
        -2,
        &["qc2"],
    )?;
    d.op(
        &mut failed,
        "qc2",
        2,
        json!({"op": "add_defect", "id": "d1", "class": "major",
        "description": "Open seam at the inside leg", "position": "inside leg", "qty": 6}),
    )?;
    d.op(
        &mut failed,
        "qc2",
        2,
        json!({"op": "add_defect", "id": "d2", "class": "minor",
        "description": "Loose threads", "position": "waistband", "qty": 4}),
    )?;
    d.op(
        &mut failed,
        "qc2",
        2,
        json!({"op": "sign_off", "name": "刘洋 Liu Yang"}),
    )?;
    d.push("sales", o);
    d.push("merch", failed);

    // 8. Final inspection passed and signed; the container is being loaded.
    let mut o = d.order(
        "SO-2026-0907",
        "MC-CD-6020",
        "Maple & Co",
        DEMO_FACTORY_KNIT,
        "merch",
        "Women's cardigan, cotton-cashmere",
        80,
        6,
    )?;
    d.plan(&mut o, 79, 7)?;
    let mut passed = d.inspection(
        "Pre-shipment inspection MC-CD-6020 (passed)",
        "SO-2026-0907",
        "Maple & Co",
        DEMO_FACTORY_KNIT,
        inspection::InspectionType::PreShipment,
        3000,
        -1,
        &["qc2"],
    )?;
    d.op(
        &mut passed,
        "qc2",
        1,
        json!({"op": "add_defect", "id": "d1", "class": "minor",
        "description": "Uneven rib at the cuff", "position": "left cuff", "qty": 2}),
    )?;
    for item in [
        "packaging",
        "shipping_marks",
        "carton_drop",
        "colour_vs_sample",
    ] {
        d.op(
            &mut passed,
            "qc2",
            1,
            json!({"op": "set_check", "item": item, "result": "pass"}),
        )?;
    }
    d.op(
        &mut passed,
        "qc2",
        1,
        json!({"op": "sign_off", "name": "刘洋 Liu Yang"}),
    )?;
    let mut loading = shipment::create(
        &NewShipmentCheck {
            title: "Container loading SO-2026-0907".into(),
            order_no: "SO-2026-0907".into(),
            customer: "Maple & Co".into(),
            factory: DEMO_FACTORY_KNIT.into(),
            booking_no: "BKG-781004".into(),
            container_type: "20GP".into(),
            due_ms: now,
            assignees: vec!["dock1".into()],
            lines: packing_lines("PO-2026-0907-01", "MC-CD-6020", "MAPLE", 125),
            ..NewShipmentCheck::default()
        },
        actor(),
        &d.ctx("merch", 3),
    )?;
    d.op(
        &mut loading,
        "dock1",
        0,
        json!({"op": "tally_cartons", "line": "p1", "delta": 125}),
    )?;
    // Marks are verified with a photo of them (the core refuses it without one).
    d.op(
        &mut loading,
        "dock1",
        0,
        json!({"op": "add_line_photo", "line": "p1",
            "photo": {"sha256": DEMO_PICTURE, "mime": "image/jpeg"}}),
    )?;
    d.op(
        &mut loading,
        "dock1",
        0,
        json!({"op": "verify_mark", "line": "p1"}),
    )?;
    d.op(
        &mut loading,
        "dock1",
        0,
        json!({"op": "tally_cartons", "line": "p2", "delta": 60}),
    )?;
    d.push("sales", o);
    d.push("merch", passed);
    d.push("merch", loading);

    // 9. Shipped, through customs, delivered and confirmed with the customer's feedback:
    // the order is archived, every record kept.
    let mut o = d.order(
        "SO-2026-0908",
        "NW-JK-4410",
        "Northwind Retail",
        DEMO_FACTORY,
        "merch",
        "Men's quilted vest",
        150,
        -30,
    )?;
    let mut c = d.commercial("SO-2026-0908", PaymentTerm::DocumentsAgainstAcceptance, 150)?;
    d.review(&mut c, 149, 4)?;
    d.handover(&mut o, "SO-2026-0908", 148)?;
    d.plan(&mut o, 147, 0)?;
    // Its packaging data and shipping marks, confirmed by the customer: what a repeat order
    // of Northwind copies to adjust (`POST /records/{id}/copy-packaging`).
    for (id, kind, text) in [
        (
            "box",
            "colour_box",
            "Single vest polybag + 4-colour header card, Northwind blue",
        ),
        (
            "hangtag",
            "hang_tag",
            "Northwind hang tag, price sticker on the back",
        ),
        (
            "marks",
            "shipping_mark",
            "NORTHWIND / PO NO. / STYLE NO. / C/NO. 1-UP / MADE IN CHINA",
        ),
    ] {
        d.op(
            &mut o,
            "merch",
            120,
            json!({"op": "add_packaging", "id": id, "item": {"kind": kind, "description": text}}),
        )?;
        d.op(
            &mut o,
            "merch",
            118,
            json!({"op": "send_packaging", "id": id, "sent_ms": now - 118 * DAY_MS}),
        )?;
        d.op(
            &mut o,
            "merch",
            115,
            json!({"op": "confirm_packaging", "id": id, "confirmed_ms": now - 115 * DAY_MS}),
        )?;
    }
    let mut shipped = shipment::create(
        &NewShipmentCheck {
            title: "Container loading SO-2026-0908".into(),
            order_no: "SO-2026-0908".into(),
            customer: "Northwind Retail".into(),
            factory: DEMO_FACTORY.into(),
            booking_no: "BKG-770551".into(),
            container_type: "40HQ".into(),
            due_ms: now - 35 * DAY_MS,
            assignees: vec!["dock1".into()],
            lines: packing_lines("PO-2026-0908-01", "NW-JK-4410", "NORTHWIND", 200),
            ..NewShipmentCheck::default()
        },
        actor(),
        &d.ctx("merch", 40),
    )?;
    for line in ["p1", "p2"] {
        d.op(
            &mut shipped,
            "dock1",
            35,
            json!({"op": "tally_cartons", "line": line, "delta": 200}),
        )?;
        d.op(
            &mut shipped,
            "dock1",
            35,
            json!({"op": "add_line_photo", "line": line,
                "photo": {"sha256": DEMO_PICTURE, "mime": "image/jpeg"}}),
        )?;
        d.op(
            &mut shipped,
            "dock1",
            35,
            json!({"op": "verify_mark", "line": line}),
        )?;
    }
    d.op(
        &mut shipped,
        "dock1",
        35,
        json!({"op": "set_text", "field": "seal_no", "value": "SEAL-0099812"}),
    )?;
    d.op(
        &mut shipped,
        "dock1",
        35,
        json!({"op": "set_text", "field": "container_no", "value": "MSKU 702311-4"}),
    )?;
    d.op(
        &mut shipped,
        "dock1",
        35,
        json!({"op": "sign_off", "name": "周涛 Zhou Tao"}),
    )?;
    d.op(&mut shipped, "merch", 33, json!({"op": "set_customs", "declaration_no": "5300-2026-0091873", "cleared_at_ms": now - 33 * DAY_MS}))?;
    d.op(
        &mut shipped,
        "merch",
        2,
        json!({"op": "confirm_delivery", "confirmed_at_ms": now - 2 * DAY_MS,
        "feedback": "All cartons received in good order; repeat order planned for spring"}),
    )?;
    d.push("sales", o);
    d.push("sales", c);
    d.push("merch", shipped);

    // A count in the Ningbo warehouse, counted and submitted: waiting for approval.
    let mut count_lines = BTreeMap::new();
    for (i, (bin, sku, expected)) in [
        ("N-01-1", "NW-TK-3302-BK-M", 300),
        ("N-01-2", "NW-TK-3302-BK-L", 280),
        ("N-02-1", "CTN-58x38x28", 800),
    ]
    .into_iter()
    .enumerate()
    {
        count_lines.insert(
            format!("l{}", i + 1),
            NewLine {
                location: bin.into(),
                sku: sku.into(),
                description: sku.into(),
                unit: "pcs".into(),
                expected,
                safety_stock: expected / 10,
            },
        );
    }
    let mut submitted = stock_count::create(
        &NewStockCount {
            title: "Weekly count WH-Ningbo zone N".into(),
            warehouse: DEMO_WAREHOUSE_NINGBO.into(),
            due_ms: now,
            blind: false,
            threshold_qty: Some(2),
            threshold_pct: Some(1.0),
            assignees: vec!["clerk3".into()],
            lines: count_lines,
        },
        actor(),
        &d.ctx("merch", 1),
    )?;
    for (line, qty) in [("l1", 300), ("l2", 279), ("l3", 800)] {
        d.op(
            &mut submitted,
            "clerk3",
            0,
            json!({"op": "set_count", "line": line, "qty": qty}),
        )?;
    }
    d.op(&mut submitted, "clerk3", 0, json!({"op": "submit"}))?;
    d.push("merch", submitted);
    Ok(d.out)
}

/// Two packing-list lines (navy and grey) of `cartons` each.
fn packing_lines(
    po_no: &str,
    style_no: &str,
    mark: &str,
    cartons: i64,
) -> BTreeMap<String, NewPackingLine> {
    let mut packing = BTreeMap::new();
    for (i, (id, colour)) in [("p1", "Navy"), ("p2", "Grey")].into_iter().enumerate() {
        let first = i as i64 * cartons + 1;
        packing.insert(
            id.to_string(),
            NewPackingLine {
                po_no: po_no.into(),
                style_no: style_no.into(),
                description: format!("{colour} S–XL"),
                cartons_expected: cartons,
                qty_per_carton: 12,
                shipping_mark: format!(
                    "{mark} / {style_no} / C/NO. {first}-{}",
                    first + cartons - 1
                ),
                // The two lines share PO and style: each carton label names its colour.
                barcode: format!("{style_no}-{}", colour.to_uppercase()),
            },
        );
    }
    packing
}

#[cfg(test)]
mod tests {
    use gendan_core::approval::{ApprovalRequest, ApprovalStatus};
    use gendan_core::common::Verdict;
    use gendan_core::order::{Order, OrderCommercial};
    use gendan_core::payment_gate::{BlockReason, Gate};
    use gendan_core::plan::RiskLevel;
    use gendan_core::purchase_order::{PoStatus, PurchaseOrder};
    use gendan_core::record::RecordType;
    use gendan_core::review::HandoverState;
    use gendan_core::{packaging, plan, review, samples};

    use super::*;

    /// 2026-11-27 10:00 China time.
    const NOW: i64 = 1_795_744_800_000;

    struct Records(Vec<(String, DocumentId, Record)>);

    impl Records {
        fn all(&self, t: RecordType, order_no: &str) -> Vec<&Record> {
            self.0
                .iter()
                .map(|(_, _, r)| r)
                .filter(|r| {
                    r.record_type() == t
                        && r.header().is_ok()
                        && serde_json::to_value(ops::view_json(r, VIEWER).unwrap())
                            .unwrap()["record"]["order_no"]
                            == order_no
                })
                .collect()
        }
        fn one(&self, t: RecordType, order_no: &str) -> &Record {
            let found = self.all(t, order_no);
            assert_eq!(found.len(), 1, "one {t} of {order_no}");
            found[0]
        }
        fn order(&self, no: &str) -> Order {
            self.one(RecordType::Order, no).read().unwrap()
        }
        fn commercial(&self, no: &str) -> OrderCommercial {
            self.one(RecordType::OrderCommercial, no).read().unwrap()
        }
        fn po(&self, no: &str) -> PurchaseOrder {
            self.one(RecordType::PurchaseOrder, no).read().unwrap()
        }
        fn derived(&self, t: RecordType, no: &str) -> serde_json::Value {
            ops::view_json(self.one(t, no), VIEWER).unwrap()["derived"].clone()
        }
    }

    const VIEWER: ops::Viewer<'static> = ops::Viewer {
        user: "merch",
        office: true,
    };

    #[test]
    fn the_demo_holds_every_stage_of_the_flow() {
        let r = Records(demo_records(NOW).unwrap());
        // Every stage names its order, and every order is there.
        for (no, _) in DEMO_ORDERS {
            r.order(no);
        }
        // The commercial side and the PO name their order's document id.
        let order_id = |no: &str| {
            r.0.iter()
                .find(|(_, _, x)| {
                    x.record_type() == RecordType::Order
                        && x.read::<Order>().unwrap().order_no == no
                })
                .map(|(_, id, _)| id.to_string())
                .unwrap()
        };
        assert_eq!(
            r.commercial("SO-2026-0815").order_id,
            order_id("SO-2026-0815")
        );
        assert_eq!(r.po("SO-2026-0903").order_id, order_id("SO-2026-0903"));
        // 1. Contract review pending.
        let review = review::contract_review(&r.commercial("SO-2026-0901"));
        assert!(!review.complete);
        assert_eq!(
            review.missing,
            [
                "tracking_sheet",
                "cost_sheet:finance",
                "cost_sheet:general_manager"
            ]
        );
        // 2. Handover refused, with what is missing.
        let o = r.order("SO-2026-0902");
        assert!(
            matches!(review::handover(&o), HandoverState::Refused { ref missing, .. } if missing.contains("contract no")),
            "{:?}",
            review::handover(&o)
        );
        assert!(!review::handover_problems(&o).is_empty());
        // 3. The L/C order's PO: drafted and signed, blocked by the L/C.
        let gate = payment_gate::gate(&r.commercial("SO-2026-0903"), None);
        assert!(
            matches!(
                gate,
                Gate::Blocked {
                    reason: BlockReason::LcNotReceived,
                    ..
                }
            ),
            "{gate:?}"
        );
        let po = r.po("SO-2026-0903");
        assert_ne!(purchase_order::status(&po), PoStatus::Released);
        assert!(
            purchase_order::release_problems(&po).is_empty(),
            "only the gate is closed"
        );
        // 4. The deposit order: blocked, the GM's special approval (the shipped chain)
        // pending, waiting for the general manager's title.
        let special: ApprovalRequest = r.one(RecordType::Approval, "SO-2026-0904").read().unwrap();
        assert_eq!(special.chain, chains::SPECIAL_PO_RELEASE.name);
        let v = approval::view(&special, NOW);
        assert_eq!(v.status, ApprovalStatus::Pending);
        assert_eq!(v.waiting_for_role.as_deref(), Some(GM));
        let boss = DEMO_USERS.iter().find(|u| u.username == "boss").unwrap();
        assert_eq!(
            approval::waiting_for(&special, "boss", boss.titles, NOW).as_deref(),
            Some("s1")
        );
        assert_eq!(
            approval::waiting_for(&special, "finance", &["finance"], NOW),
            None
        );
        let gate = payment_gate::gate_any(&r.commercial("SO-2026-0904"), &[&special]);
        assert!(
            matches!(
                gate,
                Gate::Blocked {
                    reason: BlockReason::DepositNotConfirmed,
                    ..
                }
            ),
            "{gate:?}"
        );
        // 5. Released; sample rounds with their comments; shipping marks chased.
        assert_eq!(
            purchase_order::status(&r.po("SO-2026-0905")),
            PoStatus::Released
        );
        let o = r.order("SO-2026-0905");
        let (rounds, _) = samples::progress(&o);
        let proto = rounds
            .iter()
            .find(|s| s.round == order::SampleRound::Proto)
            .unwrap();
        assert_eq!((proto.sent, proto.comments), (1, 2));
        let pp = rounds
            .iter()
            .find(|s| s.round == order::SampleRound::PreProduction)
            .unwrap();
        assert_eq!((pp.sent, pp.approved, pp.comments), (1, 0, 1));
        let reminder = packaging::shipping_marks_reminder(&o, NOW).expect("a reminder");
        assert!(reminder.none_received);
        assert!(reminder.days_to_delivery <= packaging::SHIPPING_MARKS_REMINDER_DAYS);
        // 6. Production behind plan: the risk report flags it; the order shipped is not.
        let orders: Vec<(String, Order)> = DEMO_ORDERS
            .iter()
            .map(|(no, _)| ((*no).to_string(), r.order(no)))
            .collect();
        let report = plan::risk_report(orders.iter().map(|(n, o)| (n.as_str(), o)), NOW);
        let level = |no: &str| report.iter().find(|x| x.order_id == no).map(|x| x.level);
        assert!(
            level("SO-2026-0815") >= Some(RiskLevel::AtRisk),
            "{report:?}"
        );
        assert_eq!(
            purchase_order::status(&r.po("SO-2026-0815")),
            PoStatus::Released
        );
        // 7. Inspections: failed, passed, pending.
        let verdict = |no: &str| r.derived(RecordType::Inspection, no);
        assert_eq!(verdict("SO-2026-0906")["verdict"], "fail");
        assert_eq!(verdict("SO-2026-0907")["verdict"], "pass");
        assert_eq!(verdict("SO-2026-0907")["status"], "signed");
        for pending in r.all(RecordType::Inspection, "SO-2026-0815") {
            let d = &ops::view_json(pending, VIEWER).unwrap()["derived"];
            assert_eq!(d["status"], "open", "{d}");
        }
        // 8. Container loading in progress; 9. shipped, delivered, archived.
        let loading = r.derived(RecordType::ShipmentCheck, "SO-2026-0907");
        assert_eq!(loading["status"], "loading");
        let shipped = r.derived(RecordType::ShipmentCheck, "SO-2026-0908");
        assert_eq!(shipped["status"], "delivered");
        assert_eq!(
            shipped["verdict"],
            serde_json::to_value(Verdict::Pass).unwrap()
        );
        assert_eq!(level("SO-2026-0908"), Some(RiskLevel::Shipped));
        // The stock count waiting for approval.
        let counts: Vec<String> =
            r.0.iter()
                .filter(|(_, _, x)| x.record_type() == RecordType::StockCount)
                .map(|(_, _, x)| {
                    ops::view_json(x, VIEWER).unwrap()["derived"]["status"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
        assert!(counts.contains(&"submitted".to_string()), "{counts:?}");
    }

    #[test]
    fn demo_users_cover_every_role_with_job_titles() {
        for role in [
            Role::Admin,
            Role::Merchandiser,
            Role::Sales,
            Role::Qc,
            Role::Warehouse,
            Role::Shipping,
            Role::Approver,
            Role::Factory,
        ] {
            assert!(DEMO_USERS.iter().any(|u| u.role == role), "{role}");
        }
        for u in DEMO_USERS {
            assert!(!u.titles.is_empty(), "{} has a job title", u.username);
            crate::accounts::check_titles(u.titles.iter().map(|t| (*t).to_string()).collect())
                .unwrap();
        }
        for title in [GM, "finance", "sales_manager", "product_control_manager"] {
            assert!(
                DEMO_USERS.iter().any(|u| u.titles.contains(&title)),
                "{title}"
            );
        }
    }

    /// Every sign-off and deposit confirmation in the demo is made by a demo user who
    /// holds the job title it needs: the sync service and REST refuse any other.
    #[test]
    fn demo_users_hold_the_titles_they_sign_with() {
        use gendan_core::access::check_new_sign_offs;
        let r = Records(demo_records(NOW).unwrap());
        let roles = |user: &str| -> Vec<&str> {
            let u = DEMO_USERS
                .iter()
                .find(|u| u.username == user)
                .unwrap_or_else(|| panic!("{user} is a demo user"));
            u.titles
                .iter()
                .copied()
                .chain(std::iter::once(u.role.as_str()))
                .collect()
        };
        let mut signed = 0;
        for (_, _, record) in &r.0 {
            let (field, slots, signers): (_, _, fn(&str) -> Vec<String>) =
                match record.record_type() {
                    RecordType::OrderCommercial => {
                        let c: OrderCommercial = record.read().unwrap();
                        if c.deposit_confirmed_ms.0 > 0 {
                            assert!(roles(&c.deposit_confirmed_by).contains(&"finance"));
                        }
                        ("review", c.review, review::review_signer_titles)
                    }
                    RecordType::PurchaseOrder => {
                        let po: PurchaseOrder = record.read().unwrap();
                        (
                            "signatures",
                            po.signatures,
                            purchase_order::signature_titles,
                        )
                    }
                    _ => continue,
                };
            for (slot, s) in &slots {
                let one = std::iter::once((slot.clone(), s.clone())).collect();
                let problems = check_new_sign_offs(
                    field,
                    &Default::default(),
                    &one,
                    &s.by,
                    &roles(&s.by),
                    signers,
                    |_| false,
                );
                assert!(problems.is_empty(), "{slot} by {}: {problems:?}", s.by);
                signed += 1;
            }
        }
        assert!(signed > 10, "the demo signs: {signed}");
    }

    #[test]
    fn demo_dates_follow_the_day_it_is_loaded() {
        let later = NOW + 100 * DAY_MS;
        let a = Records(demo_records(NOW).unwrap());
        let b = Records(demo_records(later).unwrap());
        let delivery = |r: &Records| r.order("SO-2026-0905").delivery_ms.0;
        assert_eq!(delivery(&b) - delivery(&a), 100 * DAY_MS);
        assert!(packaging::shipping_marks_reminder(&b.order("SO-2026-0905"), later).is_some());
    }
}
