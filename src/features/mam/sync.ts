// Which clients sync the message archive, for the client list (clients/access.ts): the last
// time each client (by its client record id) queried the archive, written at most once a
// minute per session so that paging through a history costs no extra write per page.
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { clientIdOf } from "../../clients/access.js";

declare module "../../core/session.js" {
  interface SessionData {
    /** When this session's archive query was last recorded (ms). */
    archiveSyncedAt?: number;
  }
}

const EVERY_MS = 60_000;

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function syncRecords(server: Server): (session: Session) => void {
  server.bus.on("client-holdings", async ({ username, hold }) => {
    for (const [clientId, at] of await server.storage.archive.synced(username))
      hold(clientId, { kind: "archive", text: `syncs the message archive (last ${utc(at)})` });
  });

  return (session) => {
    const clientId = clientIdOf(session);
    const now = Date.now();
    if (!clientId || now - (session.data.archiveSyncedAt ?? 0) < EVERY_MS) return;
    session.data.archiveSyncedAt = now;
    server.storage.archive.markSynced(session.username!, clientId, now).catch((err: unknown) => server.log.error({ err }, "recording an archive sync failed"));
  };
}
