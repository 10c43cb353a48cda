// HTTP file upload (XEP-0363 v1.1): the domain itself is the upload service (slixmpp and
// Conversations look for it there), on Warden's own HTTPS service. When a client asks for a
// slot, slot.ts gives it one; the PUT (put.ts) stores the file, and GET/HEAD (serve.ts) serve
// it until http_file_share_expires_after. Files are kept per uploading client: the client list
// shows "uploaded N files (size)", and revoking the client revokes its unused slots. Its files
// already stored stay: they were sent to other people, whose chats link to them, and they
// expire anyway; deleting the account deletes them (the records go with the account, and the
// sweep deletes files that have no record).
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { UploadFiles } from "./files.js";
import { NS_UPLOAD, SLOT_TTL_MS, UPLOAD_PATH, slotRequests } from "./slot.js";
import { putHandler } from "./put.js";
import { getHandler } from "./serve.js";
import { publicBaseUrl } from "../../http/browser.js";

const PURGE_EVERY_MS = 3600_000;

export default defineFeature({ name: "upload", needs: ["http", "rateLimits", "disco"], setup: upload });

/** 1234567 → "1.2 MB" (SI units, as file managers show sizes). */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

async function upload(server: Server): Promise<() => void> {
  // Disco advertises only what works: without an HTTPS URL to give out there is no service.
  const base = publicBaseUrl(server);
  if (!base) {
    server.log.warn("HTTP file upload is off: there is no HTTPS port and no http_external_url");
    return () => {};
  }
  const files = new UploadFiles(server.config.data_path);
  await files.init();
  server.hostFeatures.add(NS_UPLOAD);
  // XEP-0363 §3: the service's identity (slixmpp looks for it); §6: the largest file, in a
  // data form on the service's disco#info (XEP-0128).
  const disco = server.services.get("disco");
  disco.addHostIdentity({ category: "store", type: "file", name: "HTTP File Upload" });
  disco.addHostForm({ formType: NS_UPLOAD, fields: [{ var: "max-file-size", values: [String(server.config.http_file_share_size_limit)] }] });
  slotRequests(server, base);
  const http = server.services.get("http");
  http.route("PUT", UPLOAD_PATH, putHandler(server, files), { prefix: true, ownBody: true, cors: true });
  http.route("GET", UPLOAD_PATH, getHandler(server, files), { prefix: true, cors: true });

  server.bus.on("client-holdings", async ({ username, hold }) => {
    for (const c of await server.storage.uploads.perClient(username)) {
      hold(c.clientId, { kind: "upload", text: `uploaded ${c.files} file${c.files === 1 ? "" : "s"} (${formatBytes(c.bytes)})` });
    }
  });
  server.bus.on("client-revoked", async ({ username, clientId }) => {
    if (clientId !== undefined) await server.storage.uploads.revokeSlots(username, clientId);
  });

  const purge = async () => {
    const now = Date.now();
    // Unused slots are kept a while past their expiry, for a PUT that started just in time.
    const gone = await server.storage.uploads.purge(now, now - SLOT_TTL_MS - PURGE_EVERY_MS);
    await files.remove(gone);
    const orphans = await files.sweep(server, now);
    if (gone.length + orphans > 0) server.log.info({ records: gone.length, orphans }, "deleted expired uploads");
  };
  const safely = () => void purge().catch((err: unknown) => server.log.error({ err }, "upload clean-up failed"));
  server.bus.on("user-deleted", safely);
  const timer = setInterval(safely, PURGE_EVERY_MS);
  timer.unref();
  safely();
  return () => clearInterval(timer);
}
