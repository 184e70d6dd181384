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

const stop = () => {
  wss.close();
  repo.shutdown?.();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
