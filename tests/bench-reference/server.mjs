// The reference sync server for the load benchmark (`make bench`): what
// @automerge/automerge-repo-sync-server runs — a Repo with the Node WebSocket server
// adapter and the filesystem storage adapter, announcing nothing (sharePolicy false) —
// but bound to 127.0.0.1 and with the port and data folder from the command line.
//
//   node server.mjs PORT DATA_DIR
//
// Prints "listening on 127.0.0.1:PORT" once it accepts connections.

import os from "node:os";
import { WebSocketServer } from "ws";
import { Repo } from "@automerge/automerge-repo";
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";

const [portArg, dir] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || !dir) {
  console.error("usage: node server.mjs PORT DATA_DIR");
  process.exit(2);
}

const wss = new WebSocketServer({ host: "127.0.0.1", port });
const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `storage-server-${os.hostname()}`,
  // Like the sync server: share nothing unasked; serve what peers ask for.
  sharePolicy: async () => false,
});

wss.on("listening", () => console.log(`listening on 127.0.0.1:${port}`));

// Not in the stock sync server: under the benchmark's load, automerge-repo's internal
// 60 s timeouts (withTimeout) reject with nobody listening, which ends node by default.
// Log them and keep serving, so that the run can finish; the benchmark counts what the
// devices then see (e.g. documents that never arrive).
let rejections = 0;
process.on("unhandledRejection", (e) => {
  rejections += 1;
  if (rejections <= 5) console.error(`reference server: unhandled rejection: ${e?.message ?? e}`);
});

const stop = () => {
  wss.close();
  repo.shutdown?.();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
