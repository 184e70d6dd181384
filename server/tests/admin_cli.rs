//! End to end: `gendan user …`, `gendan backup` and `gendan restore`, run as processes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use gendan_server::data_dir::DataDir;
use gendan_server::store::{SCAN_ROWS_MAX, Store};
use serde_json::Value;

/// Runs `gendan` with the given arguments and waits for it.
fn gendan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gendan"))
        .args(args)
        .output()
        .expect("the gendan binary runs")
}

/// Runs `gendan`, expects success and one JSON line, and returns it.
fn ok(args: &[&str]) -> Value {
    let output = gendan(args);
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{args:?}: {:?}, stderr: {stderr}",
        output.status
    );
    assert_eq!(
        stdout.lines().count(),
        1,
        "{args:?}: one line, found {stdout:?}"
    );
    serde_json::from_str(&stdout).expect("stdout is JSON")
}

/// Runs `gendan` with input it must refuse: exit code 2, nothing on stdout; returns stderr.
fn refused(args: &[&str]) -> String {
    let output = gendan(args);
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: exit 2, stderr: {stderr}"
    );
    assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
    stderr
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

#[test]
fn user_add_then_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = path(&data);
    let added = ok(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "li.wei",
        "--password",
        "correct horse",
        "--role",
        "qc",
        "--display-name",
        "Li Wei",
    ]);
    assert_eq!(added["added"]["username"], "li.wei");
    assert_eq!(added["added"]["titles"], serde_json::json!([]));
    assert_eq!(added["added"]["role"], "qc");
    assert!(
        added.to_string().find("correct horse").is_none(),
        "no password in the answer"
    );
    ok(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "ningbo",
        "--password",
        "factory pass",
        "--role",
        "factory",
        "--factory",
        "Ningbo Knit",
    ]);

    // Job titles: several on add, replaced or cleared with `user title`; bad ones refused.
    let gm = ok(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "zhao",
        "--password",
        "general pass",
        "--role",
        "approver",
        "--title",
        "general_manager",
        "--title",
        "finance",
    ]);
    assert_eq!(
        gm["added"]["titles"],
        serde_json::json!(["finance", "general_manager"])
    );
    let set = ok(&[
        "user",
        "title",
        "--data",
        data,
        "--username",
        "zhao",
        "--title",
        "sales_manager",
    ]);
    assert_eq!(set["user"]["titles"], serde_json::json!(["sales_manager"]));
    let message = refused(&[
        "user",
        "title",
        "--data",
        data,
        "--username",
        "zhao",
        "--title",
        "Sales Manager",
    ]);
    assert!(message.contains("job title"), "{message}");
    let cleared = ok(&["user", "title", "--data", data, "--username", "zhao"]);
    assert_eq!(cleared["user"]["titles"], serde_json::json!([]));

    // `user scope` moves the factory user to another factory; a factory user without one,
    // and an unknown role, are refused and change nothing.
    let moved = ok(&[
        "user",
        "scope",
        "--data",
        data,
        "--username",
        "ningbo",
        "--role",
        "factory",
        "--factory",
        "Shaoxing Dye",
    ]);
    assert_eq!(moved["user"]["factory"], "Shaoxing Dye");
    assert_eq!(moved["user"]["role"], "factory");
    let message = refused(&[
        "user",
        "scope",
        "--data",
        data,
        "--username",
        "ningbo",
        "--role",
        "factory",
    ]);
    assert!(message.contains("factory"), "{message}");
    let message = refused(&[
        "user",
        "scope",
        "--data",
        data,
        "--username",
        "ningbo",
        "--role",
        "owner",
    ]);
    assert!(message.contains("owner"), "{message}");

    let listed = ok(&["user", "list", "--data", data]);
    let users = listed["users"].as_array().unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(users[0]["username"], "li.wei");
    assert_eq!(users[0]["display_name"], "Li Wei");
    assert_eq!(users[1]["factory"], "Shaoxing Dye");
    assert!(
        !listed.to_string().contains("argon2"),
        "no hashes in the list"
    );

    let changed = ok(&[
        "user",
        "passwd",
        "--data",
        data,
        "--username",
        "li.wei",
        "--password",
        "battery staple",
    ]);
    assert_eq!(changed["password_changed"], true);
    let revoked = ok(&["user", "revoke", "--data", data, "--username", "li.wei"]);
    assert_eq!(revoked["revoked_sessions"], 0);

    // The password really changed.
    let store = DataDir::new(data).open_store().unwrap();
    let accounts = gendan_server::accounts::Accounts::new(store);
    accounts
        .verify_password("li.wei", "battery staple")
        .unwrap();
    assert!(accounts.verify_password("li.wei", "correct horse").is_err());
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = path(&data);
    let stderr = refused(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "li",
        "--password",
        "correct horse",
        "--role",
        "boss",
    ]);
    assert!(stderr.contains("qc"), "lists the roles: {stderr}");
    let stderr = refused(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "Li Wei",
        "--password",
        "correct horse",
        "--role",
        "qc",
    ]);
    assert!(stderr.contains("username"), "{stderr}");
    let stderr = refused(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "li",
        "--password",
        "short",
        "--role",
        "qc",
    ]);
    assert!(stderr.contains("at least 8"), "{stderr}");
    let stderr = refused(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "f",
        "--password",
        "correct horse",
        "--role",
        "factory",
    ]);
    assert!(stderr.contains("--factory"), "{stderr}");
    ok(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "li",
        "--password",
        "correct horse",
        "--role",
        "qc",
    ]);
    let stderr = refused(&[
        "user",
        "add",
        "--data",
        data,
        "--username",
        "li",
        "--password",
        "correct horse",
        "--role",
        "qc",
    ]);
    assert!(stderr.contains("already exists"), "{stderr}");
    let stderr = refused(&["user", "revoke", "--data", data, "--username", "nobody"]);
    assert!(stderr.contains("no user nobody"), "{stderr}");

    // A data folder that does not exist is not created by list, revoke or backup.
    let missing = dir.path().join("typo");
    let stderr = refused(&["user", "list", "--data", path(&missing)]);
    assert!(stderr.contains("no Gendan data folder"), "{stderr}");
    assert!(!missing.exists());

    // A folder that is something else.
    let other = dir.path().join("other");
    fs::create_dir_all(other.join("store")).unwrap();
    fs::write(other.join("store").join("notes.txt"), "hello").unwrap();
    let stderr = refused(&["user", "list", "--data", path(&other)]);
    assert!(stderr.contains("not a Gendan store"), "{stderr}");
}

#[test]
fn a_data_folder_in_use_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    let _held = data.open_store().unwrap(); // as a running server holds it
    let stderr = refused(&["user", "list", "--data", path(data.root())]);
    assert!(
        stderr.contains("in use by a running gendan server; stop it or use the REST API"),
        "{stderr}"
    );
}

/// Every key and value of a store (the store's own keys included: they are compared too).
fn contents(store: &dyn Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let rows = store
            .scan_prefix_after(b"", after.as_deref(), SCAN_ROWS_MAX)
            .unwrap();
        let full = rows.len() == SCAN_ROWS_MAX;
        after = rows.last().map(|(k, _)| k.clone());
        all.extend(rows.into_iter().filter(|(k, _)| !k.starts_with(b"meta/")));
        if !full {
            return all;
        }
    }
}

#[test]
fn backup_then_restore_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    ok(&[
        "user",
        "add",
        "--data",
        path(data.root()),
        "--username",
        "admin",
        "--password",
        "correct horse",
        "--role",
        "admin",
    ]);
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&photo))
    };
    let before = {
        let store = data.open_store().unwrap();
        let docs = gendan_server::docs::DocStore::new(store.clone());
        docs.compact("4NMNnkMhL8jXrdJ9jamS2A", b"snapshot bytes \x00\xff", 0)
            .unwrap();
        let mut batch = gendan_server::store::Batch::new();
        docs.append_to(&mut batch, "4NMNnkMhL8jXrdJ9jamS2A", b"chunk \x01")
            .unwrap();
        store.apply(batch).unwrap();
        let blobs = data.open_blobs(store.clone()).unwrap();
        let upload = gendan_server::blobs::BlobUpload {
            mime: "image/jpeg".into(),
            uploader: "admin".into(),
            at_ms: 1,
        };
        blobs.put(&sha256, &photo, &upload).unwrap();
        store.flush().unwrap();
        contents(store.as_ref())
    };

    let file = dir.path().join("gendan-2026-11-27.backup");
    let summary = ok(&["backup", "--data", path(data.root()), "--out", path(&file)]);
    assert_eq!(summary["blobs"], 1);
    assert_eq!(summary["keys"], before.len());
    assert_eq!(summary["bytes"], fs::metadata(&file).unwrap().len());
    let stderr = refused(&["backup", "--data", path(data.root()), "--out", path(&file)]);
    assert!(stderr.contains("exists already"), "{stderr}");

    let restored = DataDir::new(dir.path().join("restored"));
    let answer = ok(&[
        "restore",
        "--data",
        path(restored.root()),
        "--from",
        path(&file),
    ]);
    assert_eq!(answer["keys"], before.len());
    assert_eq!(answer["blobs"], 1);
    {
        let store = restored.open_store().unwrap();
        assert_eq!(contents(store.as_ref()), before);
        let blobs = restored.open_blobs(store.clone()).unwrap();
        assert_eq!(blobs.read(&sha256).unwrap(), Some(photo));
    }
    // The restored folder works with the commands.
    let listed = ok(&["user", "list", "--data", path(restored.root())]);
    assert_eq!(listed["users"][0]["username"], "admin");

    // Restoring over a folder with data, or from a damaged file, is refused.
    let stderr = refused(&[
        "restore",
        "--data",
        path(restored.root()),
        "--from",
        path(&file),
    ]);
    assert!(stderr.contains("not empty"), "{stderr}");
    let mut bytes = fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let damaged = dir.path().join("damaged.backup");
    fs::write(&damaged, bytes).unwrap();
    let target = dir.path().join("new");
    let stderr = refused(&["restore", "--data", path(&target), "--from", path(&damaged)]);
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!target.exists());
}

#[test]
fn help_documents_restore_from() {
    let output = gendan(&["restore", "--help"]);
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success());
    assert!(help.contains("--from <FILE>"), "{help}");
    assert!(help.contains("--data <DIR>"), "{help}");
    assert!(help.contains("./data"), "{help}");
}
