// Shared helpers of the JS interop tests: a gendan server process per test file, REST
// calls, stock automerge-repo clients, and waiting.

import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, openSync, readFileSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, dirname, resolve } from "node:path"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

export const DEMO_PASSWORD = "gendan-demo"
const here = dirname(fileURLToPath(import.meta.url))

/** The gendan binary: $GENDAN_BIN, else target/debug/gendan of this workspace. */
export function gendanBin() {
  const bin = process.env.GENDAN_BIN ??
    resolve(process.env.CARGO_TARGET_DIR ?? resolve(here, "../../target"), "debug/gendan")
  if (!existsSync(bin)) {
    throw new Error(
      `the gendan binary is missing at ${bin}: build it with ` +
        "`cargo build -p gendan-server --bin gendan` (make test does), or set GENDAN_BIN",
    )
  }
  return bin
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.on("error", rej)
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
  })
}

export const sleep = ms => new Promise(r => setTimeout(r, ms))

/** Polls `probe` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor(what, probe, timeoutMs = 15000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      last = await probe()
      if (last) return last
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`)
    }
    await sleep(everyMs)
  }
}

/**
 * Starts `gendan serve --demo` on a free port with a fresh data folder, or uses the server
 * at $GENDAN_URL (which must have been started with --demo on an empty folder).
 * Returns { url, wsUrl, stop(), log() }.
 */
export async function startServer() {
  if (process.env.GENDAN_URL) {
    const url = process.env.GENDAN_URL.replace(/\/$/, "")
    return { url, wsUrl: url.replace(/^http/, "ws") + "/sync", stop: async () => {}, log: () => "" }
  }
  const bin = gendanBin()
  const dir = mkdtempSync(join(tmpdir(), "gendan-e2e-js-"))
  let lastLog = ""
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const logPath = join(dir, `server-${attempt}.log`)
    const fd = openSync(logPath, "w")
    const child = spawn(
      bin,
      ["serve", "--bind", `127.0.0.1:${port}`, "--data", join(dir, "data"), "--demo",
        "--web", join(dir, "no-web")],
      { stdio: ["ignore", fd, fd], env: { ...process.env, NO_COLOR: "1" } },
    )
    let exited = false
    child.on("exit", () => { exited = true })
    // Never leave a server behind, even if this process dies of an uncaught error.
    const kill = () => { try { child.kill("SIGKILL") } catch {} }
    process.on("exit", kill)
    const url = `http://127.0.0.1:${port}`
    const log = () => { try { return readFileSync(logPath, "utf8") } catch { return "" } }
    const ready = await waitFor("the server to answer /healthz", async () => {
      if (exited) return "exited"
      const r = await fetch(`${url}/healthz`)
      return r.ok ? "ok" : false
    }, 30000, 25).catch(() => "timeout")
    if (ready === "ok") {
      return {
        url,
        wsUrl: `ws://127.0.0.1:${port}/sync`,
        log,
        stop: async () => {
          kill()
          process.off("exit", kill)
          if (!exited) await new Promise(r => child.once("exit", r))
          rmSync(dir, { recursive: true, force: true })
        },
      }
    }
    kill()
    lastLog = log()
    if (!(ready === "exited" && lastLog.includes("cannot listen"))) break
  }
  throw new Error(`the gendan server did not start; its log:\n${lastLog}`)
}

/** An HTTP call; returns { status, json, text }. */
export async function http(server, method, path, { token, body } = {}) {
  const headers = { accept: "application/json" }
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers["content-type"] = "application/json"
  const r = await fetch(server.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.text()
  let json = null
  try { json = JSON.parse(text) } catch {}
  return { status: r.status, json, text }
}

/** Logs a demo user in: { token, index_id, user }. */
export async function login(server, username) {
  const r = await http(server, "POST", "/api/v1/login", {
    body: { username, password: DEMO_PASSWORD },
  })
  if (r.status !== 200) throw new Error(`login as ${username}: ${r.status} ${r.text}`)
  return r.json
}

/**
 * A stock automerge-repo client (no storage) logged in as `username`, connected with the
 * token in the URL. `received` lists every message the server sent it.
 */
export async function client(server, username) {
  const session = await login(server, username)
  const adapter = new WebSocketClientAdapter(
    `${server.wsUrl}?token=${encodeURIComponent(session.token)}`,
    500,
  )
  const received = []
  adapter.on("message", m => received.push(m))
  const repo = new Repo({ network: [adapter] })
  await waitFor(`${username}'s repo to see the server`, () => repo.peers.length > 0)
  return { username, session, repo, adapter, received }
}

/** Closes a client's connection and stops its repo. */
export async function close(c) {
  await c.repo.shutdown()
}

/** The `records` of the user's index document, as [documentId, summary] pairs. */
export async function indexRecords(c) {
  const handle = await c.repo.find(`automerge:${c.session.index_id}`)
  // Each entry is the summary as one JSON text (a map of fields from older servers).
  const entry = s => (s !== null && typeof s === "object" && !("val" in s) ? s : JSON.parse(String(s)))
  return Object.entries(handle.doc().records ?? {}).map(([id, s]) => [id, entry(s)])
}

/** The Prometheus counters of /metrics, by name. */
export async function metrics(server) {
  const r = await fetch(`${server.url}/metrics`)
  const out = {}
  for (const line of (await r.text()).split("\n")) {
    const m = line.match(/^([a-z_]+) (\d+)$/)
    if (m) out[m[1]] = Number(m[2])
  }
  return out
}
