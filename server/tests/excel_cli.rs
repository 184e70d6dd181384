//! End to end: `gendan export orders` and `gendan import orders`, run as processes on
//! real data folders: the round trip gives the same rows, a second import updates instead
//! of creating, and bad rows are reported by row number while the good ones go in.

use std::path::Path;
use std::process::{Command, Output};

use gendan_server::excel::{self, Lang, SheetRow};
use serde_json::{Value, json};

fn gendan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gendan"))
        .args(args)
        .output()
        .expect("the gendan binary runs")
}

fn ok(args: &[&str]) -> Value {
    let output = gendan(args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?}: {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("one JSON line")
}

fn rows_of(file: &Path) -> Vec<SheetRow> {
    excel::read_sheet(&std::fs::read(file).unwrap())
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every exported row reads").1)
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn with_admin(data: &Path) {
    ok(&[
        "user",
        "add",
        "--data",
        path(data),
        "--username",
        "admin",
        "--password",
        "a-long-password",
        "--role",
        "admin",
    ]);
}

#[test]
fn export_import_export_gives_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, empty) = (dir.path().join("demo"), dir.path().join("empty"));
    ok(&["demo", "--data", path(&demo)]);
    let first = dir.path().join("first.xlsx");
    let exported = ok(&[
        "export",
        "orders",
        "--data",
        path(&demo),
        "--out",
        path(&first),
    ]);
    let rows = rows_of(&first);
    assert!(rows.len() >= 2, "the demo has orders: {exported}");
    assert!(
        rows.iter()
            .any(|r| r.milestones.iter().any(|(p, _)| p.is_some())),
        "some demo order has planned milestones"
    );
    let orders: std::collections::BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.order_no.clone(), r.style_no.clone()))
        .collect();

    with_admin(&empty);
    let summary = ok(&["import", "orders", "--data", path(&empty), path(&first)]);
    assert_eq!(
        summary,
        json!({"created": orders.len(), "updated": 0, "errors": []})
    );
    let second = dir.path().join("second.xlsx");
    ok(&[
        "export",
        "orders",
        "--data",
        path(&empty),
        "--out",
        path(&second),
        "--lang",
        "en",
    ]);
    assert_eq!(rows_of(&second), rows, "the same rows after the round trip");

    // The same sheet again: every order is matched and updated, none created.
    let again = ok(&["import", "orders", "--data", path(&empty), path(&first)]);
    assert_eq!(
        again,
        json!({"created": 0, "updated": orders.len(), "errors": []})
    );
    let third = dir.path().join("third.xlsx");
    ok(&[
        "export",
        "orders",
        "--data",
        path(&empty),
        "--out",
        path(&third),
    ]);
    assert_eq!(rows_of(&third), rows);

    // An existing output file is never overwritten.
    let out = gendan(&[
        "export",
        "orders",
        "--data",
        path(&empty),
        "--out",
        path(&third),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
}

#[test]
fn bad_rows_are_reported_and_the_good_ones_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    with_admin(&data);
    let steps = gendan_core::plan::DEFAULT_TEMPLATE.len();
    let good = |order_no: &str, colour: &str, qty: i64| SheetRow {
        order_no: order_no.into(),
        style_no: "ST-1".into(),
        customer: "Acme".into(),
        factory: "F1".into(),
        merchandiser: "merch".into(),
        sales: "sales".into(),
        delivery_day: Some(20_800),
        colour: colour.into(),
        quantity: qty,
        milestones: (0..steps)
            .map(|i| (Some(20_700 + i as i64), (i == 0).then_some(20_703)))
            .collect(),
    };
    let mut conflicting = good("SO-3", "red", 5);
    conflicting.customer = "Other".into();
    let rows = vec![
        good("SO-1", "navy", 100), // row 2
        good("SO-1", "red", 50),   // row 3
        SheetRow {
            style_no: String::new(),
            ..good("SO-2", "navy", 1)
        }, // row 4: no style no.
        good("SO-3", "navy", 5),   // row 5
        conflicting,               // row 6: other order fields than row 5
        good("SO-4", "navy", 7),   // row 7
    ];
    let file = dir.path().join("in.xlsx");
    std::fs::write(&file, excel::write_sheet(&rows, Lang::Zh).unwrap()).unwrap();
    let summary = ok(&["import", "orders", "--data", path(&data), path(&file)]);
    assert_eq!(summary["created"], 2, "{summary}");
    assert_eq!(summary["updated"], 0, "{summary}");
    let errors = summary["errors"].as_array().unwrap();
    let rows_refused: Vec<u64> = errors.iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(rows_refused, [4, 5], "{summary}");
    assert!(errors[0]["message"].as_str().unwrap().contains("款号"));
    assert!(errors[1]["message"].as_str().unwrap().contains("row 6"));
    // Each also as a code with the values it names, for the office page to word.
    assert_eq!(errors[0]["code"], "required");
    assert_eq!(
        errors[0]["params"],
        json!({"column": "款号", "column_en": "Style no."})
    );
    assert_eq!(errors[1]["code"], "order_fields_differ");
    assert_eq!(
        errors[1]["params"],
        json!({"order_no": "SO-3", "style_no": "ST-1", "other_row": "6"})
    );

    let out = dir.path().join("out.xlsx");
    ok(&[
        "export",
        "orders",
        "--data",
        path(&data),
        "--out",
        path(&out),
    ]);
    let back = rows_of(&out);
    assert_eq!(
        back,
        vec![rows[0].clone(), rows[1].clone(), rows[5].clone()]
    );

    // Not a workbook: refused whole, nothing imported.
    let junk = dir.path().join("junk.xlsx");
    std::fs::write(&junk, b"not a workbook").unwrap();
    let refused = gendan(&["import", "orders", "--data", path(&data), path(&junk)]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a readable .xlsx"));
}
