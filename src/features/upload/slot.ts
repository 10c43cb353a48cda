// Slot requests (XEP-0363 §4): a client asks the domain for a place to PUT a file of a given
// name, size and type and gets back a PUT URL with a one-time token in its Authorization header,
// and the GET URL to share. Everything is checked before anything is stored: the rate of
// requests, the size against http_file_share_size_limit (§4.1's <file-too-large/>), the name,
// the type, then the daily and global quotas in the same transaction as the insert.
import { createHash, randomBytes } from "node:crypto";
import { x, type Element } from "../../xml/element.js";
import { errorReply, iqResult } from "../../core/router.js";
import { stanzaErrors, type StanzaErrorDef } from "../../core/errors.js";
import type { Server } from "../../core/server.js";
import { xep82 } from "../../core/xep82.js";
import { clientIdOf } from "../../clients/access.js";
import { normaliseType, validFilename } from "./content-type.js";

export const NS_UPLOAD = "urn:xmpp:http:upload:0";
/** The path under which files are put and served: /upload/<id>/<filename>. */
export const UPLOAD_PATH = "/upload/";
/** How long a slot's PUT token is valid (Prosody gives 10 minutes; a client PUTs right away). */
export const SLOT_TTL_MS = 5 * 60_000;
const DAY_MS = 86400_000;

export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** `base`: the public HTTPS base URL the slots' URLs start with. */
export function slotRequests(server: Server, base: string): void {
  const cfg = server.config;
  const rate = server.services.get("rateLimits");

  server.bus.on(`iq-get/host/${NS_UPLOAD}:request`, async ({ stanza, origin }) => {
    const username = origin?.username;
    if (!origin || !username) return true;
    const refuse = (def: StanzaErrorDef, text?: string, extra?: Element) => {
      const reply = errorReply(stanza, def, cfg.domain, text);
      if (extra) reply.getChild("error")!.cnode(extra);
      origin.send(reply);
      return true;
    };
    const now = Date.now();
    const retry = rate.hit(`upload-slot:${username}`, cfg.http_file_share_slot_rate_limit, now);
    if (retry !== undefined) {
      const stamp = xep82(now + retry * 1000);
      return refuse(stanzaErrors.uploadRateLimited, undefined, x("retry", { xmlns: NS_UPLOAD, stamp }));
    }
    const req = stanza.getChild("request")!;
    const { filename = "", size: sizeText = "" } = req.attrs;
    const size = /^\d{1,16}$/.test(sizeText) ? Number(sizeText) : 0;
    if (size < 1) return refuse(stanzaErrors.uploadBadSize);
    const max = cfg.http_file_share_size_limit;
    if (size > max) {
      const tooLarge = x("file-too-large", { xmlns: NS_UPLOAD }, x("max-file-size", null, String(max)));
      return refuse(stanzaErrors.uploadTooLarge, `File too large: the largest file is ${max} bytes`, tooLarge);
    }
    if (!validFilename(filename)) return refuse(stanzaErrors.uploadBadFilename);
    const declared = req.attrs["content-type"];
    const contentType = declared === undefined ? "application/octet-stream" : normaliseType(declared);
    if (!contentType) return refuse(stanzaErrors.uploadBadType);

    const id = randomBytes(16).toString("base64url");
    const token = randomBytes(32).toString("base64url");
    const refused = await server.storage.uploads.addSlot(
      {
        id,
        username,
        clientId: clientIdOf(origin),
        filename,
        size,
        contentType,
        tokenHash: tokenHash(token),
        createdAt: now,
        slotExpiresAt: now + SLOT_TTL_MS,
        revoked: false,
        expiresAt: now + cfg.http_file_share_expires_after * 1000,
      },
      { since: now - DAY_MS, daily: cfg.http_file_share_daily_quota, global: cfg.http_file_share_global_quota },
    );
    if (refused === "daily-quota") return refuse(stanzaErrors.uploadDailyQuota);
    if (refused === "global-quota") return refuse(stanzaErrors.uploadGlobalQuota);
    const url = `${base}${UPLOAD_PATH}${id}/${encodeURIComponent(filename)}`;
    const slot = x("slot", { xmlns: NS_UPLOAD }, x("put", { url }, x("header", { name: "Authorization" }, `Bearer ${token}`)), x("get", { url }));
    origin.send(iqResult(stanza, slot));
    return true;
  });
}
