// Interop: stock automerge-repo 2.5.6 JS clients (WebSocketClientAdapter, no storage)
// against the gendan sync server, checked through the REST API and other clients.
//
// Run: `npm test` in tests/js (starts its own `gendan serve --demo` from
// target/debug/gendan, or GENDAN_BIN), or with GENDAN_URL=http://… against a server
// started with --demo on an empty data folder. `make js-interop` builds the binary first.

import { test, before, after } from "node:test"
import assert from "node:assert/strict"

import {
  Counter,
  ImmutableString,
  generateAutomergeUrl,
  parseAutomergeUrl,
} from "@automerge/automerge-repo"

import {
  startServer,
  client,
  close,
  indexRecords,
  http,
  login,
  metrics,
  sleep,
  waitFor,
} from "../harness.mjs"

let server
let merch // a merch session for REST
let finalId // the final inspection (assigned to qc1 and qc2)
let inlineId // the inline inspection (qc1 only)
let stockCountId // the stock count (clerk1, clerk2): outside qc1's scope
const clients = []

const str = v => (v === undefined || v === null ? v : String(v))
const plain = v => JSON.parse(JSON.stringify(v))

async function open(username) {
  const c = await client(server, username)
  clients.push(c)
  return c
}

/** The record as the server has it now (its store): `GET /api/v1/records/{id}` as merch. */
async function serverRecord(id) {
  const r = await http(server, "GET", `/api/v1/records/${id}`, { token: merch.token })
  assert.equal(r.status, 200, `GET /api/v1/records/${id}: ${r.text}`)
  return r.json.view.record
}

/** Messages of one type about one document that a client received. */
const receivedOf = (c, type, id) =>
  c.received.filter(m => m.type === type && m.documentId === id)

before(async () => {
  server = await startServer()
  merch = await login(server, "merch")
  const qc1 = await open("qc1")
  const records = await indexRecords(qc1)
  const find = title =>
    records.find(([, s]) => str(s.record_type) === "inspection" && str(s.title).startsWith(title))?.[0]
  finalId = find("Final inspection")
  inlineId = find("Inline inspection")
  assert.ok(finalId && inlineId, `qc1's index lists both inspections: ${JSON.stringify(records)}`)
  const counts = await http(server, "GET", "/api/v1/records?type=stock_count", { token: merch.token })
  assert.equal(counts.status, 200, counts.text)
  stockCountId = counts.json.items[0]?.id
  assert.ok(stockCountId, `merch lists the stock count: ${counts.text}`)
  assert.ok(!records.some(([id]) => id === stockCountId), "the stock count is not in qc1's index")
})

after(async () => {
  for (const c of clients) await close(c).catch(() => {})
  if (server) {
    if (process.exitCode) console.error(server.log().split("\n").slice(-40).join("\n"))
    await server.stop()
  }
})

test("qc1's index lists its records with summaries, and the index is read-only", async () => {
  const qc1 = await open("qc1")
  const index = await qc1.repo.find(`automerge:${qc1.session.index_id}`)
  const doc = index.doc()
  assert.equal(str(doc.type), "user_index")
  assert.equal(str(doc.owner), "qc1")
  const summary = Object.fromEntries(await indexRecords(qc1))[finalId]
  assert.equal(summary.record_type, "inspection")
  assert.equal(summary.factory, "Dongguan Hengli Garments")
  assert.deepEqual([...summary.assignees].sort(), ["qc1", "qc2"])
  const before = await metrics(server)
  index.change(d => { d.owner = new ImmutableString("mallory") })
  await waitFor("the index edit to be refused", async () =>
    (await metrics(server)).gendan_changes_rejected_total > before.gendan_changes_rejected_total)
  await waitFor("doc-unavailable for the index", () =>
    receivedOf(qc1, "doc-unavailable", qc1.session.index_id).length > 0)
  const fresh = await open("qc1")
  const again = await fresh.repo.find(`automerge:${qc1.session.index_id}`)
  assert.equal(str(again.doc().owner), "qc1", "the server's index is unchanged")
})

test("(a, b) qc1 edits the final inspection: merch sees it over REST, qc2 over sync", async () => {
  const qc1 = await open("qc1")
  const qc2 = await open("qc2")
  const h2 = await qc2.repo.find(`automerge:${finalId}`)
  const h1 = await qc1.repo.find(`automerge:${finalId}`)
  assert.equal(str(h1.doc().title), "Final inspection HL-TS-2231")
  // A scalar string, as the server's own records hold them (the next test writes a plain
  // JS string, which automerge 3 stores as collaborative text).
  h1.change(d => { d.remarks = new ImmutableString("checked by JS") })
  const record = await waitFor("merch to see the remarks", async () => {
    const r = await serverRecord(finalId)
    return str(r.remarks) === "checked by JS" && r
  })
  assert.equal(str(record.factory), "Dongguan Hengli Garments")
  await waitFor("qc2 to see the remarks", () => str(h2.doc().remarks) === "checked by JS")
})

test("a plain JS string write (automerge text) is merged", async () => {
  const qc1 = await open("qc1")
  const h = await qc1.repo.find(`automerge:${inlineId}`)
  h.change(d => { d.remarks = "plain JS string" })
  await waitFor("merch to see the remarks", async () =>
    str((await serverRecord(inlineId)).remarks) === "plain JS string", 3000)
})

test("(c) an edit of a scope field is refused, never merged, and quarantined", async t => {
  const admin = await login(server, "admin")
  for (const [what, edit, check] of [
    ["assignees", d => { d.assignees.mallory = true }, r => assert.deepEqual(Object.keys(r.assignees).sort(), ["qc1", "qc2"])],
    ["factory", d => { d.factory = new ImmutableString("Some Other Factory") }, r => assert.equal(str(r.factory), "Dongguan Hengli Garments")],
  ]) {
    const qc1 = await open("qc1")
    const h = await qc1.repo.find(`automerge:${finalId}`)
    const before = await metrics(server)
    h.change(edit)
    await waitFor(`the ${what} edit to be refused`, async () =>
      (await metrics(server)).gendan_changes_rejected_total > before.gendan_changes_rejected_total)
    await waitFor(`doc-unavailable after the ${what} edit`, () =>
      receivedOf(qc1, "doc-unavailable", finalId).length > 0)
    const after = await metrics(server)
    assert.equal(after.gendan_changes_accepted_total, before.gendan_changes_accepted_total, `${what}: nothing merged`)
    check(await serverRecord(finalId))
    await close(qc1)
  }
  const q = await http(server, "GET", "/api/v1/quarantine", { token: admin.token })
  assert.equal(q.status, 200, `GET /api/v1/quarantine: ${q.text}`)
  const mine = q.json.items.filter(i => i.doc_id === finalId && i.user === "qc1")
  const text = JSON.stringify(mine)
  assert.ok(mine.length >= 2, `the quarantine lists both refused change sets: ${JSON.stringify(q.json)}`)
  assert.ok(text.includes("assignees") && text.includes("factory"), `the reasons name the fields: ${text}`)
  t.diagnostic(`quarantined: ${mine.map(i => JSON.stringify(i.reason)).join("; ")}`)
})

test("after a refused change set, the client's next edit does not start an endless sync loop", async () => {
  const qc1 = await client(server, "qc1")
  try {
    const h = await qc1.repo.find(`automerge:${inlineId}`)
    h.change(d => { d.assignees.mallory = true })
    await waitFor("doc-unavailable after the refused edit", () =>
      receivedOf(qc1, "doc-unavailable", inlineId).length > 0)
    h.change(d => { d.remarks = new ImmutableString("after the refusal") })
    const before = (await metrics(server)).gendan_frames_out_total
    await sleep(1000)
    const frames = (await metrics(server)).gendan_frames_out_total - before
    assert.ok(frames <= 10, `${frames} frames from the server in the second after one edit`)
  } finally {
    await close(qc1) // ends the loop, if any
  }
})

test("(d) a document outside qc1's scope is unavailable, exactly like an unknown id", async () => {
  const qc1 = await open("qc1")
  const unknownId = parseAutomergeUrl(generateAutomergeUrl()).documentId
  const outcome = async id => {
    try {
      const h = await qc1.repo.find(`automerge:${id}`)
      return { state: h.state, doc: plain(h.doc()) }
    } catch (e) {
      return { error: String(e.message).replaceAll(`automerge:${id}`, "<id>").replaceAll(id, "<id>") }
    }
  }
  const outOfScope = await outcome(stockCountId)
  const unknown = await outcome(unknownId)
  assert.deepEqual(outOfScope, { error: "Document <id> is unavailable" })
  assert.deepEqual(unknown, outOfScope, "the same answer as for an id that does not exist")
  const said = id =>
    qc1.received.filter(m => m.documentId === id).map(m => ({ ...m, documentId: "<id>" }))
  assert.deepEqual(said(stockCountId), said(unknownId), "the server said the same things")
  assert.deepEqual(said(stockCountId).map(m => m.type), ["doc-unavailable"])
  // The merchandiser, who may read it, gets it.
  assert.equal(str((await serverRecord(stockCountId)).type), "stock_count")
})

test("(e) factory1 reads the inspection, but its edit never reaches the server", async () => {
  const factory = await open("factory1")
  const listed = (await indexRecords(factory)).map(([id]) => id)
  assert.ok(listed.includes(finalId), "factory1's index lists its factory's inspection")
  const h = await factory.repo.find(`automerge:${finalId}`)
  assert.equal(str(h.doc().factory), "Dongguan Hengli Garments")
  const remarksBefore = str((await serverRecord(finalId)).remarks)
  const before = await metrics(server)
  h.change(d => { d.remarks = new ImmutableString("factory says: all fine") })
  await waitFor("factory1's edit to be refused", async () =>
    (await metrics(server)).gendan_changes_rejected_total > before.gendan_changes_rejected_total)
  await sleep(300)
  assert.equal(str((await serverRecord(finalId)).remarks), remarksBefore, "the server's remarks are unchanged")
  assert.equal((await metrics(server)).gendan_changes_accepted_total, before.gendan_changes_accepted_total)
  const admin = await login(server, "admin")
  const q = await http(server, "GET", "/api/v1/quarantine", { token: admin.token })
  const theirs = q.json.items.filter(i => i.doc_id === finalId && i.user === "factory1")
  assert.equal(theirs.length, 1, `factory1's change set is quarantined: ${q.text}`)
})

test("concurrent defects and tallies from qc1 and qc2 merge on both clients and the server", async () => {
  const qc1 = await open("qc1")
  const qc2 = await open("qc2")
  const h1 = await qc1.repo.find(`automerge:${finalId}`)
  const h2 = await qc2.repo.find(`automerge:${finalId}`)
  const defect = (by, description) => ({
    class: new ImmutableString("major"),
    description: new ImmutableString(description),
    position: new ImmutableString(""),
    qty: new Counter(1),
    photos: {},
    by: new ImmutableString(by),
    at_ms: Date.now(),
  })
  // In one tick: neither client can have seen the other's change.
  h1.change(d => { d.defects["js-a"] = defect("qc1", "open seam") })
  h2.change(d => { d.defects["js-b"] = defect("qc2", "stain") })
  const both = h => h.doc().defects["js-a"] && h.doc().defects["js-b"]
  await waitFor("both clients to have both defects", () => both(h1) && both(h2))
  // Both tally the same defect at once.
  h1.change(d => { d.defects["js-a"].qty.increment(1) })
  h2.change(d => { d.defects["js-a"].qty.increment(2) })
  const qty = (h, id) => h.doc().defects[id].qty.value
  await waitFor("the summed tally on both clients", () => qty(h1, "js-a") === 4 && qty(h2, "js-a") === 4)
  assert.equal(qty(h1, "js-b"), 1)
  const record = await waitFor("the server to have both defects and the sum", async () => {
    const r = await serverRecord(finalId)
    return r.defects?.["js-a"]?.qty === 4 && r.defects?.["js-b"]?.qty === 1 && r
  })
  assert.equal(str(record.defects["js-a"].by), "qc1")
  assert.equal(str(record.defects["js-b"].by), "qc2")
})
