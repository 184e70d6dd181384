//! `GET /openapi.json`: a hand-written OpenAPI 3.0 description of the HTTP API (REST under
//! `/api/v1`, plus `/sync`, `/healthz` and `/metrics`). A test checks that every route the
//! server has is described here and that everything described here is routed.

use axum::Json;
use serde_json::{Map, Value, json};

/// `GET /openapi.json` (no session needed).
pub async fn serve() -> Json<Value> {
    Json(document())
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description,
            "schema": { "type": "string" } })
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": schema })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": json_content(schema_ref("Error")) })
}

/// One operation: summary, tag, parameters, request body and responses (status →
/// response object). `public` operations need no session.
struct Op<'a> {
    summary: &'a str,
    tag: &'a str,
    public: bool,
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: Vec<(&'a str, Value)>,
}

impl Op<'_> {
    fn build(self) -> Value {
        let mut op = Map::new();
        op.insert("summary".into(), json!(self.summary));
        op.insert("tags".into(), json!([self.tag]));
        if !self.parameters.is_empty() {
            op.insert("parameters".into(), Value::Array(self.parameters));
        }
        if let Some(body) = self.body {
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": body }),
            );
        }
        let mut responses = Map::new();
        for (status, response) in self.responses {
            responses.insert(status.into(), response);
        }
        if self.public {
            op.insert("security".into(), json!([]));
        } else {
            responses
                .entry("401")
                .or_insert_with(|| error("No session, or it was revoked or expired."));
        }
        op.insert("responses".into(), Value::Object(responses));
        Value::Object(op)
    }
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": json_content(schema) })
}

/// The whole OpenAPI document.
pub fn document() -> Value {
    let id = || path_param("id", "Record (document) id, bs58check.");
    let sha = || path_param("sha256", "SHA-256 of the blob, 64 lowercase hex digits.");
    let username = || path_param("username", "Login name.");
    let not_found = || error("No such record, or outside your scope (the same answer).");
    let bad = || error("Bad input; the message says what was wrong.");
    let forbidden = || error("Not allowed for your role or on this record.");
    let record = || ok("The record.", schema_ref("Record"));
    let admin_only = || error("Only an admin may do this.");
    let upload_offset = json!({ "Upload-Offset": { "schema": { "type": "integer" },
        "description": "Bytes of the upload received so far." } });

    let mut paths: Vec<(&str, &str, Value)> = Vec::new();
    let mut add = |path: &'static str, method: &'static str, op: Op<'_>| {
        paths.push((path, method, op.build()));
    };

    // serve.rs
    add(
        "/healthz",
        "get",
        Op {
            summary: "Liveness and a few gauges.",
            tag: "server",
            public: true,
            parameters: vec![],
            body: None,
            responses: vec![(
                "200",
                ok(
                    "Running.",
                    json!({ "type": "object", "properties": {
            "status": { "type": "string" }, "uptime_s": { "type": "integer" },
            "connections": { "type": "integer" }, "documents_in_memory": { "type": "integer" } } }),
                ),
            )],
        },
    );
    add(
        "/metrics",
        "get",
        Op {
            summary: "Prometheus metrics (text format 0.0.4).",
            tag: "server",
            public: true,
            parameters: vec![],
            body: None,
            responses: vec![(
                "200",
                json!({ "description": "Metrics.",
            "content": { "text/plain": { "schema": { "type": "string" } } } }),
            )],
        },
    );
    add(
        "/sync",
        "get",
        Op {
            summary: "WebSocket upgrade: automerge-repo sync protocol v1 (binary CBOR frames). The \
                  token may be given as ?token= because browsers cannot set headers on a WebSocket.",
            tag: "sync",
            public: false,
            parameters: vec![query_param(
                "token",
                "Session token (instead of the Authorization header).",
                json!({ "type": "string" }),
            )],
            body: None,
            responses: vec![
                (
                    "101",
                    json!({ "description": "Switching protocols; the socket carries sync frames." }),
                ),
                (
                    "503",
                    error("The server has as many connections as it accepts."),
                ),
            ],
        },
    );
    add(
        "/api/v1/login",
        "post",
        Op {
            summary: "Log in; returns a session token (Bearer) and, for field roles, the id of their index document.",
            tag: "session",
            public: true,
            parameters: vec![],
            body: Some(json_content(schema_ref("LoginRequest"))),
            responses: vec![
                ("200", ok("Logged in.", schema_ref("LoginResponse"))),
                ("400", bad()),
                (
                    "401",
                    error("Wrong username or password, or the account is disabled."),
                ),
                ("429", error("Too many failed logins; try again later.")),
            ],
        },
    );
    add(
        "/api/v1/logout",
        "post",
        Op {
            summary: "Ends the session of the token.",
            tag: "session",
            public: false,
            parameters: vec![],
            body: None,
            responses: vec![("204", json!({ "description": "Logged out." }))],
        },
    );
    add(
        "/api/v1/me",
        "get",
        Op {
            summary: "The session's user, expiry and index document id.",
            tag: "session",
            public: false,
            parameters: vec![],
            body: None,
            responses: vec![("200", ok("The session.", schema_ref("Me")))],
        },
    );

    // records
    add(
        "/api/v1/records",
        "get",
        Op {
            summary: "One page of record summaries you may read. Field roles: a page may come back \
                  short (even empty) with a `next` cursor; follow it until `next` is null.",
            tag: "records",
            public: false,
            parameters: vec![
                query_param("type", "Record type.", json!({ "type": "string" })),
                query_param("status", "Status.", json!({ "type": "string" })),
                query_param(
                    "q",
                    "Case-insensitive text in order no., style no., customer, factory or title (at most 256 bytes).",
                    json!({ "type": "string" }),
                ),
                query_param(
                    "assignee",
                    "Assigned username.",
                    json!({ "type": "string" }),
                ),
                query_param("factory", "Factory.", json!({ "type": "string" })),
                query_param(
                    "limit",
                    "Page size, default 50, at most 500.",
                    json!({ "type": "integer", "minimum": 0, "maximum": 500 }),
                ),
                query_param(
                    "after",
                    "The `next` of the previous page.",
                    json!({ "type": "string" }),
                ),
            ],
            body: None,
            responses: vec![
                ("200", ok("A page.", schema_ref("RecordPage"))),
                ("400", bad()),
            ],
        },
    );
    add(
        "/api/v1/records",
        "post",
        Op {
            summary: "Creates a record: `type` plus the fields of the type's New* structure \
                  (e.g. NewInspection) and optional `assignees` (existing usernames, at most 100).",
            tag: "records",
            public: false,
            parameters: vec![],
            body: Some(json_content(schema_ref("NewRecord"))),
            responses: vec![
                (
                    "201",
                    json!({ "description": "Created.", "headers": { "Location": { "schema": { "type": "string" } } },
                "content": json_content(json!({ "type": "object", "required": ["id"],
                    "properties": { "id": { "type": "string" } } })) }),
                ),
                ("400", bad()),
                ("403", forbidden()),
                ("413", error("The body is over 1 MiB.")),
            ],
        },
    );
    add(
        "/api/v1/records/{id}",
        "get",
        Op {
            summary: "One record with its derived values; with ?at= as it was at those heads.",
            tag: "records",
            public: false,
            parameters: vec![
                id(),
                query_param(
                    "at",
                    "Comma-separated change hashes (hex), at most 64.",
                    json!({ "type": "string" }),
                ),
            ],
            body: None,
            responses: vec![("200", record()), ("400", bad()), ("404", not_found())],
        },
    );
    add(
        "/api/v1/records/{id}/ops",
        "post",
        Op {
            summary: "Applies one operation of the record's type (its JSON form, e.g. \
                  {\"op\":\"tally_defect\",\"id\":\"d1\",\"delta\":1}). Needs write access.",
            tag: "records",
            public: false,
            parameters: vec![id()],
            body: Some(json_content(json!({ "type": "object", "required": ["op"],
            "properties": { "op": { "type": "string" } }, "additionalProperties": true }))),
            responses: vec![
                ("200", record()),
                ("400", bad()),
                ("403", forbidden()),
                ("404", not_found()),
            ],
        },
    );
    add(
        "/api/v1/records/{id}/decide",
        "post",
        Op {
            summary: "Your decision on the current step of an approval request.",
            tag: "records",
            public: false,
            parameters: vec![id()],
            body: Some(json_content(schema_ref("Decision"))),
            responses: vec![
                ("200", record()),
                ("400", bad()),
                ("403", forbidden()),
                ("404", not_found()),
            ],
        },
    );
    add(
        "/api/v1/records/{id}/copy-packaging",
        "post",
        Op {
            summary: "A repeat order (翻单) copies the previous order's packaging data and \
                  shipping marks to adjust: {\"from_order_no\"}. Each item is drafted again \
                  (not sent, not confirmed); items copied before are kept. Answers \
                  {\"copied\", \"skipped\", \"from\", \"record\"}.",
            tag: "records",
            public: false,
            parameters: vec![id()],
            body: Some(json_content(
                json!({ "type": "object", "required": ["from_order_no"],
            "properties": { "from_order_no": { "type": "string" } } }),
            )),
            responses: vec![
                (
                    "200",
                    ok(
                        "What was copied, and the order as GET answers it.",
                        json!({ "type": "object" }),
                    ),
                ),
                ("400", bad()),
                ("403", forbidden()),
                ("404", not_found()),
            ],
        },
    );
    add(
        "/api/v1/records/{id}/assign",
        "post",
        Op {
            summary: "Assigns a user (office roles only; the user must exist).",
            tag: "records",
            public: false,
            parameters: vec![id()],
            body: Some(json_content(schema_ref("Assignment"))),
            responses: vec![
                ("200", record()),
                ("400", bad()),
                ("403", forbidden()),
                ("404", not_found()),
            ],
        },
    );
    add(
        "/api/v1/records/{id}/unassign",
        "post",
        Op {
            summary: "Removes an assignee (office roles only).",
            tag: "records",
            public: false,
            parameters: vec![id()],
            body: Some(json_content(schema_ref("Assignment"))),
            responses: vec![
                ("200", record()),
                ("400", bad()),
                ("403", forbidden()),
                ("404", not_found()),
            ],
        },
    );
    add(
        "/api/v1/records/{id}/history",
        "get",
        Op {
            summary: "Every change of the record, oldest first, with who delivered it.",
            tag: "records",
            public: false,
            parameters: vec![
                id(),
                query_param(
                    "after",
                    "The `next` of the previous page (a change hash).",
                    json!({ "type": "string" }),
                ),
                query_param(
                    "limit",
                    "Page size, default 200, at most 1000.",
                    json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
                ),
            ],
            body: None,
            responses: vec![
                ("200", ok("A page of changes.", schema_ref("HistoryPage"))),
                ("400", bad()),
                ("404", not_found()),
            ],
        },
    );
    add(
        "/api/v1/aql",
        "get",
        Op {
            summary: "ISO 2859-1 single sampling plan (the same JSON as `gendan aql`).",
            tag: "aql",
            public: false,
            parameters: vec![
                query_param(
                    "lot_size",
                    "Units in the lot (2 to 10000000).",
                    json!({ "type": "integer" }),
                ),
                query_param(
                    "level",
                    "S-1, S-2, S-3, S-4, I, II (default) or III.",
                    json!({ "type": "string" }),
                ),
                query_param(
                    "aql",
                    "0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0 or 6.5.",
                    json!({ "type": "string" }),
                ),
            ],
            body: None,
            responses: vec![
                ("200", ok("The plan.", schema_ref("SamplingPlan"))),
                ("400", bad()),
            ],
        },
    );

    add(
        "/api/v1/export/orders.xlsx",
        "get",
        Op {
            summary: "The order tracking sheet (订单跟踪表) of every order, as an Excel workbook \
                      (the same as `gendan export orders`). Office roles only.",
            tag: "records",
            public: false,
            parameters: vec![query_param(
                "lang",
                "Header language: zh (default) or en.",
                json!({ "type": "string", "enum": ["zh", "en"] }),
            )],
            body: None,
            responses: vec![
                (
                    "200",
                    json!({ "description": "The workbook.", "content": {
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                            { "schema": { "type": "string", "format": "binary" } } } }),
                ),
                ("400", bad()),
                ("403", forbidden()),
            ],
        },
    );

    add(
        "/api/v1/import/orders.xlsx",
        "post",
        Op {
            summary: "Imports an order tracking sheet (the body is the .xlsx workbook, at most \
                      16 MiB and 5,000 rows): orders are created or updated, matched by order \
                      no. + style no. (the same as `gendan import orders`). Bad rows are \
                      reported by row number and skipped. Office roles only.",
            tag: "records",
            public: false,
            parameters: Vec::new(),
            body: Some(json!({
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                    { "schema": { "type": "string", "format": "binary" } } })),
            responses: vec![
                ("200", ok("What was imported.", schema_ref("ImportSummary"))),
                ("400", bad()),
                ("403", forbidden()),
                ("413", error("The workbook is over 16 MiB.")),
            ],
        },
    );

    // office
    let office_only = || error("Office roles only.");
    let summaries = || json!({ "type": "array", "items": schema_ref("RecordSummary") });
    add(
        "/api/v1/dashboard",
        "get",
        Op {
            summary: "What the office should act on now, derived from the stored records: orders \
                      at risk (T&A plan), overdue milestones, POs blocked by their payment gate, \
                      failed and pending inspections, stock counts waiting for approval, the \
                      caller's approvals, late milestones per factory, defect Pareto per \
                      factory and style. Office roles only.",
            tag: "office",
            public: false,
            parameters: vec![],
            body: None,
            responses: vec![
                (
                    "200",
                    ok(
                        "The dashboard.",
                        json!({ "type": "object", "properties": {
                "today_ms": { "type": "integer" },
                "at_risk": { "type": "array", "items": { "type": "object" } },
                "overdue_milestones": { "type": "array", "items": { "type": "object" } },
                "blocked_pos": { "type": "array", "items": { "type": "object" } },
                "failed_inspections": summaries(), "pending_inspections": summaries(),
                "counts_waiting": summaries(),
                "my_approvals": { "type": "array", "items": { "type": "object" } },
                "late_by_factory": { "type": "array", "items": { "type": "object" } },
                "defect_pareto": { "type": "array", "items": { "type": "object" } },
                "truncated": { "type": "boolean" } } }),
                    ),
                ),
                ("403", office_only()),
            ],
        },
    );
    add(
        "/api/v1/orders/{order_no}/timeline",
        "get",
        Op {
            summary: "Every record of an order, its risk and payment gates, and one timeline of \
                      who did what and when, oldest first. Office roles only.",
            tag: "office",
            public: false,
            parameters: vec![path_param("order_no", "Order number (外销合同号).")],
            body: None,
            responses: vec![
                (
                    "200",
                    ok(
                        "The order's timeline.",
                        json!({ "type": "object", "properties": {
                "order_no": { "type": "string" }, "records": summaries(),
                "risk": { "type": "object", "nullable": true },
                "gates": { "type": "array", "items": { "type": "object" } },
                "events": { "type": "array", "items": { "type": "object", "properties": {
                    "at_ms": { "type": "integer" }, "user": { "type": "string" },
                    "record_id": { "type": "string" }, "record_type": { "type": "string" },
                    "received_ms": { "type": "integer", "nullable": true },
                    "title": { "type": "string" }, "what": { "type": "string" },
                    "text": { "type": "string" },
                    "code": { "type": "string", "description": "An activity entry's code; empty for older entries." },
                    "params": { "type": "object", "additionalProperties": { "type": "string" } },
                    "count": { "type": "integer" } } } },
                "truncated": { "type": "boolean" } } }),
                    ),
                ),
                ("400", bad()),
                ("403", office_only()),
                ("404", error("No record has this order number.")),
            ],
        },
    );
    add(
        "/api/v1/search",
        "get",
        Op {
            summary: "Search the archive: records whose order no., style no., customer, factory \
                      or title contains the text, and the orders they belong to. Office roles only.",
            tag: "office",
            public: false,
            parameters: vec![
                query_param(
                    "q",
                    "The text (required, any case).",
                    json!({ "type": "string" }),
                ),
                query_param("type", "Record type.", json!({ "type": "string" })),
                query_param("limit", "Page size.", json!({ "type": "integer" })),
                query_param(
                    "after",
                    "Cursor: the `next` of the previous page.",
                    json!({ "type": "string" }),
                ),
            ],
            body: None,
            responses: vec![
                (
                    "200",
                    ok(
                        "One page.",
                        json!({ "type": "object", "properties": {
                "items": summaries(),
                "orders": { "type": "array", "items": { "type": "object" } },
                "next": { "type": "string", "nullable": true } } }),
                    ),
                ),
                ("400", bad()),
                ("403", office_only()),
            ],
        },
    );
    add(
        "/api/v1/assignees",
        "get",
        Op {
            summary: "The enabled field users work can be assigned to; with a type, only those \
                      whose role may work on such a record once assigned. Office roles only.",
            tag: "office",
            public: false,
            parameters: vec![query_param(
                "type",
                "Record type (inspection, stock_count, shipment_check, …).",
                json!({ "type": "string" }),
            )],
            body: None,
            responses: vec![
                (
                    "200",
                    ok(
                        "The users.",
                        json!({ "type": "object", "properties": {
                "items": { "type": "array", "items": { "type": "object" } } } }),
                    ),
                ),
                ("403", office_only()),
            ],
        },
    );

    // blobs
    add(
        "/api/v1/blobs/{sha256}",
        "put",
        Op {
            summary: "Uploads a whole blob (at most 8 MiB; larger ones in parts). Verified by hash; \
                  idempotent. The media type is the Content-Type.",
            tag: "blobs",
            public: false,
            parameters: vec![sha()],
            body: Some(json!({ "*/*": { "schema": { "type": "string", "format": "binary" } } })),
            responses: vec![
                ("201", ok("Stored now.", schema_ref("BlobMeta"))),
                ("200", ok("Was already stored.", schema_ref("BlobMeta"))),
                ("400", error("Bad hash, or the bytes do not hash to it.")),
                ("413", error("Over 8 MiB.")),
            ],
        },
    );
    add(
        "/api/v1/blobs/{sha256}",
        "patch",
        Op {
            summary: "Appends one part (at most 8 MiB) of a resumable upload at Upload-Offset.",
            tag: "blobs",
            public: false,
            parameters: vec![
                sha(),
                json!({ "name": "Upload-Offset", "in": "header", "required": true,
            "schema": { "type": "integer" }, "description": "The byte this part starts at." }),
            ],
            body: Some(
                json!({ "application/offset+octet-stream": { "schema": { "type": "string", "format": "binary" } } }),
            ),
            responses: vec![
                (
                    "200",
                    json!({ "description": "Appended (or the blob is already stored: complete).",
                "headers": upload_offset.clone(),
                "content": json_content(json!({ "type": "object", "properties": {
                    "offset": { "type": "integer" }, "complete": { "type": "boolean" } } })) }),
                ),
                ("400", bad()),
                (
                    "409",
                    json!({ "description": "Wrong offset; go on from `offset`.", "headers": upload_offset.clone(),
                "content": json_content(json!({ "type": "object", "properties": {
                    "error": { "type": "string" }, "offset": { "type": "integer" } } })) }),
                ),
                (
                    "413",
                    error("The part is over 8 MiB, or the blob would be over 32 MiB."),
                ),
                ("429", error("Too many uploads in progress.")),
            ],
        },
    );
    add(
        "/api/v1/blobs/{sha256}",
        "head",
        Op {
            summary: "Whether the blob is stored (200, Content-Length) or how much of its upload arrived (404, Upload-Offset).",
            tag: "blobs",
            public: false,
            parameters: vec![sha()],
            body: None,
            responses: vec![
                (
                    "200",
                    json!({ "description": "Stored.", "headers": upload_offset.clone() }),
                ),
                (
                    "404",
                    json!({ "description": "Not stored; Upload-Offset says how much of an upload arrived (0: none).",
                "headers": upload_offset }),
                ),
            ],
        },
    );
    add(
        "/api/v1/blobs/{sha256}",
        "get",
        Op {
            summary: "Downloads a blob (ranges supported).",
            tag: "blobs",
            public: false,
            parameters: vec![sha()],
            body: None,
            responses: vec![
                (
                    "200",
                    json!({ "description": "The bytes, with their media type.",
                "content": { "*/*": { "schema": { "type": "string", "format": "binary" } } } }),
                ),
                ("206", json!({ "description": "The requested range." })),
                ("404", error("No such blob.")),
            ],
        },
    );
    add(
        "/api/v1/blobs/{sha256}/finish",
        "post",
        Op {
            summary: "Verifies a resumable upload's bytes and stores the blob; the body may name its media type.",
            tag: "blobs",
            public: false,
            parameters: vec![sha()],
            body: Some(json_content(
                json!({ "type": "object", "properties": { "mime": { "type": "string" } } }),
            )),
            responses: vec![
                ("201", ok("Stored now.", schema_ref("BlobMeta"))),
                ("200", ok("Was already stored.", schema_ref("BlobMeta"))),
                (
                    "400",
                    error("The bytes do not hash to the name; the upload was discarded."),
                ),
                ("404", error("No upload in progress.")),
            ],
        },
    );

    // admin
    add(
        "/api/v1/users",
        "get",
        Op {
            summary: "Every user (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![],
            body: None,
            responses: vec![
                (
                    "200",
                    ok(
                        "Users.",
                        json!({ "type": "object", "properties": {
                "items": { "type": "array", "items": schema_ref("User") } } }),
                    ),
                ),
                ("403", admin_only()),
            ],
        },
    );
    add(
        "/api/v1/users",
        "post",
        Op {
            summary: "Creates a user (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![],
            body: Some(json_content(schema_ref("NewUser"))),
            responses: vec![
                ("201", ok("Created.", schema_ref("User"))),
                ("400", bad()),
                ("403", admin_only()),
                (
                    "409",
                    error("The username is taken, or there are as many users as allowed."),
                ),
            ],
        },
    );
    let revoked = || {
        ok(
            "Sessions ended.",
            json!({ "type": "object", "properties": {
        "revoked": { "type": "integer" } } }),
        )
    };
    add(
        "/api/v1/users/{username}/revoke",
        "post",
        Op {
            summary: "Ends every session of the user (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![username()],
            body: None,
            responses: vec![
                ("200", revoked()),
                ("403", admin_only()),
                ("404", error("No such user.")),
            ],
        },
    );
    add(
        "/api/v1/users/{username}/disable",
        "post",
        Op {
            summary: "Disables the user and ends their sessions (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![username()],
            body: None,
            responses: vec![
                ("200", revoked()),
                ("400", bad()),
                ("403", admin_only()),
                ("404", error("No such user.")),
                ("409", error("The user is the last enabled administrator.")),
            ],
        },
    );
    add(
        "/api/v1/users/{username}/enable",
        "post",
        Op {
            summary: "Lets a disabled user log in again (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![username()],
            body: None,
            responses: vec![
                ("200", ok("The user.", schema_ref("User"))),
                ("403", admin_only()),
                ("404", error("No such user.")),
            ],
        },
    );
    add(
        "/api/v1/users/{username}/password",
        "post",
        Op {
            summary: "Sets a new password and ends the user's sessions (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![username()],
            body: Some(json_content(
                json!({ "type": "object", "required": ["password"],
            "properties": { "password": { "type": "string", "minLength": 8 } } }),
            )),
            responses: vec![
                ("200", revoked()),
                ("400", bad()),
                ("403", admin_only()),
                ("404", error("No such user.")),
            ],
        },
    );
    add(
        "/api/v1/users/{username}/titles",
        "post",
        Op {
            summary: "Sets the user's job titles, which decide the approval steps they may decide (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![username()],
            body: Some(json_content(
                json!({ "type": "object", "required": ["titles"],
            "properties": { "titles": { "type": "array", "maxItems": crate::accounts::TITLES_PER_USER_MAX,
                "items": { "type": "string", "pattern": "^[a-z0-9_]+$", "maxLength": crate::accounts::TITLE_BYTES_MAX } } } }),
            )),
            responses: vec![
                ("200", ok("The user.", schema_ref("User"))),
                ("400", bad()),
                ("403", admin_only()),
                ("404", error("No such user.")),
            ],
        },
    );
    add(
        "/api/v1/users/{username}/scope",
        "post",
        Op {
            summary: "Moves the user to another role, factory or warehouse, which decide the records they see; their device's list follows (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![username()],
            body: Some(json_content(
                json!({ "type": "object", "required": ["role"], "properties": {
                "role": { "type": "string" },
                "factory": { "type": "string", "nullable": true },
                "warehouse": { "type": "string", "nullable": true } } }),
            )),
            responses: vec![
                ("200", ok("The user.", schema_ref("User"))),
                ("400", bad()),
                ("403", admin_only()),
                ("404", error("No such user.")),
                ("409", error("The user is the last enabled administrator.")),
            ],
        },
    );
    add(
        "/api/v1/quarantine",
        "get",
        Op {
            summary: "Refused change sets, oldest first (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![
                query_param(
                    "after",
                    "The `next` of the previous page.",
                    json!({ "type": "string" }),
                ),
                query_param(
                    "limit",
                    "Page size, default 50, at most 500.",
                    json!({ "type": "integer", "minimum": 1, "maximum": 500 }),
                ),
            ],
            body: None,
            responses: vec![
                ("200", ok("A page.", schema_ref("QuarantinePage"))),
                ("400", bad()),
                ("403", admin_only()),
            ],
        },
    );
    add(
        "/api/v1/quarantine/{id}",
        "get",
        Op {
            summary: "One refused change set with its changes as hex (admin only).",
            tag: "admin",
            public: false,
            parameters: vec![path_param("id", "Quarantine entry id.")],
            body: None,
            responses: vec![
                ("200", ok("The entry.", schema_ref("QuarantineEntry"))),
                ("403", admin_only()),
                ("404", error("No such entry.")),
            ],
        },
    );
    add(
        "/api/v1/openapi.json",
        "get",
        Op {
            summary: "This description.",
            tag: "server",
            public: true,
            parameters: vec![],
            body: None,
            responses: vec![("200", ok("OpenAPI 3.0.", json!({ "type": "object" })))],
        },
    );

    let mut path_map = Map::new();
    for (path, method, op) in paths {
        let entry = path_map
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(method.into(), op);
        }
    }

    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Gendan",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Offline-first order follow-up. Field devices sync Automerge documents over \
                            /sync; the office uses this REST API. Errors are {\"error\": message}. A \
                            record outside your scope answers 404, exactly like a missing one.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": path_map,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas(),
        },
    })
}

fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let int = json!({ "type": "integer" });
    let nullable_text = json!({ "type": "string", "nullable": true });
    json!({
        "Error": { "type": "object", "required": ["error", "code"], "properties": {
            "error": text,
            "code": { "type": "string", "description": "A stable code to translate: the REST codes (invalid_request, not_found, forbidden, payment_gate_closed, assignee_cannot_work, …) or the core's (invalid, not_allowed, …)." },
            "params": { "type": "object", "additionalProperties": { "type": "string" }, "description": "The values the message names, for the code's message." },
            "problems": { "type": "array", "items": { "type": "object", "properties": {
                "field": text, "message": text, "code": text,
                "params": { "type": "object", "additionalProperties": { "type": "string" } } } } } } },
        "LoginRequest": { "type": "object", "required": ["username", "password"], "properties": {
            "username": text, "password": text, "device": nullable_text } },
        "LoginResponse": { "type": "object", "properties": {
            "token": text, "expires_ms": int, "user": schema_ref("User"), "index_id": nullable_text } },
        "Me": { "type": "object", "properties": {
            "user": schema_ref("User"), "expires_ms": int, "index_id": nullable_text } },
        "User": { "type": "object", "properties": {
            "username": text,
            "role": { "type": "string", "enum": ["admin", "merchandiser", "sales", "qc", "warehouse", "shipping", "approver", "factory"] },
            "display_name": nullable_text, "factory": nullable_text, "warehouse": nullable_text,
            "disabled": { "type": "boolean" },
            "titles": { "type": "array", "items": text } } },
        "NewUser": { "type": "object", "required": ["username", "password", "role"], "properties": {
            "username": text, "password": text, "role": text, "display_name": nullable_text,
            "factory": nullable_text, "warehouse": nullable_text,
            "titles": { "type": "array", "items": text } } },
        "RecordSummary": { "type": "object", "properties": {
            "id": text, "record_type": text, "title": text, "status": text,
            "order_no": nullable_text, "style_no": nullable_text, "customer": nullable_text,
            "factory": nullable_text, "warehouse": nullable_text,
            "assignees": { "type": "array", "items": text },
            "due_ms": { "type": "integer", "nullable": true }, "updated_ms": int,
            "verdict": nullable_text } },
        "RecordPage": { "type": "object", "properties": {
            "items": { "type": "array", "items": schema_ref("RecordSummary") },
            "next": nullable_text } },
        "NewRecord": { "type": "object", "required": ["type"], "additionalProperties": true, "properties": {
            "type": { "type": "string", "enum": ["order", "purchase_order", "inspection", "stock_count", "shipment_check", "approval"] },
            "assignees": { "type": "array", "items": text } } },
        "Record": { "type": "object", "properties": {
            "id": text, "type": text,
            "access": { "type": "string", "enum": ["read", "write"] },
            "heads": { "type": "array", "items": text },
            "view": { "type": "object", "properties": {
                "record": { "type": "object" }, "derived": { "type": "object" } } } } },
        "Decision": { "type": "object", "required": ["step", "approved"], "properties": {
            "step": text, "approved": { "type": "boolean" }, "comment": text } },
        "Assignment": { "type": "object", "required": ["user"], "properties": { "user": text } },
        "Attribution": { "type": "object", "properties": {
            "user": text, "peer": text, "device": nullable_text, "at_ms": int } },
        "Change": { "type": "object", "properties": {
            "hash": text, "time_s": int, "message": nullable_text, "actor": text, "seq": int,
            "deps": { "type": "array", "items": text },
            "attribution": { "allOf": [schema_ref("Attribution")], "nullable": true } } },
        "HistoryPage": { "type": "object", "properties": {
            "items": { "type": "array", "items": schema_ref("Change") }, "next": nullable_text } },
        "ImportSummary": { "type": "object", "properties": {
            "created": int, "updated": int,
            "errors": { "type": "array", "items": { "type": "object", "properties": {
                "row": int, "message": text,
                "code": { "type": "string", "enum": crate::excel::ROW_ERROR_CODES },
                "params": { "type": "object", "additionalProperties": text } } } } } },
        "SamplingPlan": { "type": "object", "properties": {
            "code_letter": text, "sample_size": int, "accept": int, "reject": int,
            "inspect_all": { "type": "boolean" } } },
        "BlobMeta": { "type": "object", "properties": {
            "sha256": text, "size": int, "mime": text, "uploader": text, "at_ms": int } },
        "QuarantineInfo": { "type": "object", "properties": {
            "id": text, "doc_id": text, "user": text, "peer": text, "at_ms": int,
            "reason": text, "changes_bytes": int } },
        "QuarantinePage": { "type": "object", "properties": {
            "items": { "type": "array", "items": schema_ref("QuarantineInfo") }, "next": nullable_text } },
        "QuarantineEntry": { "type": "object", "properties": {
            "id": text, "doc_id": text, "user": text, "peer": text, "at_ms": int,
            "reason": text, "changes_bytes": int, "changes_hex": text } },
    })
}
