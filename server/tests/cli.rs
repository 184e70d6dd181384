//! End to end: the real `gendan` binary, run as a process, as a script or a user would.

use std::process::{Command, Output};

use gendan_core::aql::{self, Aql, InspectionLevel};
use serde_json::{Value, json};

/// Runs `gendan` with the given arguments and waits for it.
fn gendan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gendan"))
        .args(args)
        .output()
        .expect("the gendan binary runs")
}

/// Runs `gendan aql` and returns the one JSON object it prints.
fn aql_answer(args: &[&str]) -> Value {
    let output = gendan(&[&["aql"], args].concat());
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{args:?}: {:?}, stderr: {stderr}",
        output.status
    );
    assert!(
        stderr.is_empty(),
        "{args:?}: nothing on stderr, found {stderr}"
    );
    assert_eq!(
        stdout.lines().count(),
        1,
        "{args:?}: exactly one line, found {stdout:?}"
    );
    let answer: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert!(
        answer.is_object(),
        "{args:?}: a JSON object, found {answer}"
    );
    answer
}

/// Runs `gendan` with bad input and returns its stderr, after checking exit code 2 and an
/// empty stdout.
fn refused(args: &[&str]) -> String {
    let output = gendan(args);
    assert_eq!(output.status.code(), Some(2), "{args:?}: exit code 2");
    assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
    String::from_utf8(output.stderr).expect("stderr is UTF-8")
}

#[test]
fn known_answers() {
    let cases: [(&[&str], Value); 7] = [
        (
            &["--lot-size", "5000", "--level", "II", "--aql", "2.5"],
            json!({"code_letter": "L", "sample_size": 200, "accept": 10, "reject": 11, "inspect_all": false}),
        ),
        // Level II is the default.
        (
            &["--lot-size", "5000", "--aql", "2.5"],
            json!({"code_letter": "L", "sample_size": 200, "accept": 10, "reject": 11, "inspect_all": false}),
        ),
        (
            &["--lot-size", "1000", "--aql", "4.0"],
            json!({"code_letter": "J", "sample_size": 80, "accept": 7, "reject": 8, "inspect_all": false}),
        ),
        // J at 0.10 is a down arrow: K's plan and sample size; "0.1" is read as 0.10.
        (
            &["--lot-size", "1000", "--aql", "0.1"],
            json!({"code_letter": "K", "sample_size": 125, "accept": 0, "reject": 1, "inspect_all": false}),
        ),
        // M at 6.5 is an up arrow: L's plan.
        (
            &["--lot-size", "20000", "--level", "II", "--aql", "6.5"],
            json!({"code_letter": "L", "sample_size": 200, "accept": 21, "reject": 22, "inspect_all": false}),
        ),
        // Lot 300 at S-3 is D; D at 4.0 is a down arrow: E's plan.
        (
            &["--lot-size", "300", "--level", "S-3", "--aql", "4"],
            json!({"code_letter": "E", "sample_size": 13, "accept": 1, "reject": 2, "inspect_all": false}),
        ),
        // A at 2.5 leads to C (5 units), more than the lot of 3: inspect every unit.
        (
            &["--lot-size", "3", "--aql", "2.50"],
            json!({"code_letter": "C", "sample_size": 3, "accept": 0, "reject": 1, "inspect_all": true}),
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(aql_answer(args), expected, "{args:?}");
    }
}

#[test]
fn answers_agree_with_the_core() {
    for lot_size in [
        2_u64,
        8,
        9,
        50,
        151,
        1_200,
        3_201,
        35_000,
        500_001,
        aql::LOT_SIZE_MAX,
    ] {
        for level in InspectionLevel::ALL {
            for aql in [Aql::A0_065, Aql::A1_0, Aql::A2_5, Aql::A6_5] {
                let args = [
                    "--lot-size".to_owned(),
                    lot_size.to_string(),
                    "--level".to_owned(),
                    level.to_string(),
                    "--aql".to_owned(),
                    aql.to_string(),
                ];
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let expected = aql::plan(lot_size, level, aql).expect("a valid plan");
                assert_eq!(
                    aql_answer(&args),
                    serde_json::to_value(expected).expect("plan as JSON"),
                    "{args:?}"
                );
            }
        }
    }
}

#[test]
fn bad_level_is_refused() {
    let stderr = refused(&["aql", "--lot-size", "5000", "--level", "IV", "--aql", "2.5"]);
    assert!(
        stderr.contains(
            "unknown inspection level \"IV\": expected one of S-1, S-2, S-3, S-4, I, II, III"
        ),
        "{stderr}"
    );
}

#[test]
fn bad_aql_is_refused() {
    let stderr = refused(&["aql", "--lot-size", "5000", "--aql", "3"]);
    assert!(
        stderr.contains(
            "unknown AQL \"3\": expected one of 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5"
        ),
        "{stderr}"
    );
}

#[test]
fn lot_sizes_outside_the_limits_are_refused() {
    let stderr = refused(&["aql", "--lot-size", "0", "--aql", "2.5"]);
    assert!(
        stderr.contains("lot size 0 is too small: Table 1 of ISO 2859-1 starts at 2 units"),
        "{stderr}"
    );
    let stderr = refused(&["aql", "--lot-size", "1", "--aql", "2.5"]);
    assert!(stderr.contains("lot size 1 is too small"), "{stderr}");

    let just_over = (aql::LOT_SIZE_MAX + 1).to_string();
    let stderr = refused(&["aql", "--lot-size", &just_over, "--aql", "2.5"]);
    assert!(
        stderr.contains("lot size 10000001 is too large: at most 10000000 units per lot"),
        "{stderr}"
    );
}

#[test]
fn non_numeric_lot_size_is_refused() {
    for bad in ["abc", "-5", "2.5", "", "1e3", "99999999999999999999999"] {
        // `--lot-size=-5`, so that clap does not take "-5" for an option.
        let lot_size = format!("--lot-size={bad}");
        let stderr = refused(&["aql", &lot_size, "--aql", "2.5"]);
        assert!(
            stderr.contains("expected a whole number of units from 2 to 10000000"),
            "{bad:?}: {stderr}"
        );
    }
}

#[test]
fn usage_errors_exit_with_code_2() {
    let stderr = refused(&["aql", "--aql", "2.5"]);
    assert!(stderr.contains("--lot-size"), "{stderr}");
    let stderr = refused(&["aql", "--lot-size", "5000"]);
    assert!(stderr.contains("--aql"), "{stderr}");
    let stderr = refused(&["no-such-command"]);
    assert!(stderr.contains("no-such-command"), "{stderr}");
    refused(&[]);
}
