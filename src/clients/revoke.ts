// Revoking a client, a grant or a piece of software (selector `client/…`, `grant/…`,
// `software/NAME[/VERSION]`). For a client, all of it happens even when it is connected, in
// this order: its live sessions are closed (no resumption), its FAST tokens and grants are
// revoked, the revocation is recorded, and only then is the answer given. The closed streams
// are told which client lost access and where (a person reads that text).
import type { Server } from "../core/server.js";
import { streamErrors } from "../core/errors.js";
import type { ClientUserAgent } from "../storage/types.js";
import { grantUserAgent, listAccess, sessionsOfClient, type ClientEntry } from "./access.js";

/**
 * "password-reset-required": the client used the password; its id is refused from now on.
 * "can-sign-in-again": it used the password and has no client id (legacy SASL), so nothing
 * tells it apart from a new client: only a new password keeps it out.
 */
export type RevokeResult = "revoked" | "not-found" | "password-reset-required" | "can-sign-in-again";

/** Who revoked, for the security history (the bus event "client-revoked" carries it). */
export interface RevokeContext { via?: string; ip?: string }

/** "Conversations on Pixel 7", or the resource of a client that gave no name. */
export function clientLabel(ua: ClientUserAgent, resource?: string): string {
  const name = ua.software ?? (resource !== undefined ? `the client “${resource}”` : "this client");
  return ua.device ? `${name} on ${ua.device}` : name;
}

function entryLabel(e: ClientEntry): string {
  const jid = e.legacy ? e.record?.fullJid : undefined;
  return clientLabel(e.userAgent, jid?.includes("/") ? jid.slice(jid.indexOf("/") + 1) : undefined);
}

const WHERE: Record<string, string> = { "account page": "from your account page", admin: "by the server administrator" };

/** The stream error text a revoked client's connections get. */
export function revokedText(label: string, context: RevokeContext): string {
  return `Access for ${label} was revoked ${WHERE[context.via ?? ""] ?? "by a client of your account"}`;
}

const SELECTOR = /^([A-Za-z0-9]+)\/(.+)$/s;

export async function revoke(server: Server, username: string, selector: string | undefined, context: RevokeContext = {}): Promise<RevokeResult> {
  const m = selector === undefined ? null : SELECTOR.exec(selector);
  if (!m) return "not-found";
  const [, kind, rest] = m as unknown as [string, string, string];
  if (kind === "client") return revokeClient(server, username, rest, context);
  if (kind === "grant") return revokeGrant(server, username, rest, context);
  if (kind === "software") {
    const entries = await listAccess(server, username);
    const hit = entries.find((e) => {
      const sw = e.userAgent.software;
      return sw !== undefined && (sw === rest || (e.userAgent.softwareVersion !== undefined && `${sw}/${e.userAgent.softwareVersion}` === rest));
    });
    return hit ? revoke(server, username, hit.id, context) : "not-found";
  }
  return "not-found";
}

async function revokeClient(server: Server, username: string, id: string, context: RevokeContext): Promise<RevokeResult> {
  const entry = (await listAccess(server, username)).find((e) => e.id === `client/${id}`);
  const rec = entry?.record;
  if (!entry || !rec) return "not-found";
  // 1. Live sessions, whatever state they are in (hibernating ones included).
  const text = revokedText(entryLabel(entry), context);
  for (const s of sessionsOfClient(server, rec)) s.close(streamErrors.clientAccessRevoked, text);
  // Let the closed sockets flush before the synchronous database work below holds the loop.
  await new Promise((resolve) => setImmediate(resolve));
  // 2. Its FAST tokens (every FAST grant of this client id) and the grant it logged in with.
  if (!rec.legacy) {
    for (const g of await server.storage.grants.list(username)) {
      if (g.kind === "fast" && g.clientId === rec.id) await server.services.get("grants").revokeGrant(username, g.id, "client revoked");
    }
  }
  if (rec.grantId) await server.services.get("grants").revokeGrant(username, rec.grantId, "client revoked");
  // 3. Remembered, so that the client id cannot log in again until the password changes.
  await server.storage.clients.put({ ...rec, revokedAt: Date.now() });
  await server.bus.emit("client-revoked", { username, clientId: rec.id, legacy: rec.legacy, ...context });
  if (entry.password === undefined) return "revoked";
  return rec.legacy ? "can-sign-in-again" : "password-reset-required";
}

async function revokeGrant(server: Server, username: string, id: string, context: RevokeContext): Promise<RevokeResult> {
  const grant = await server.storage.grants.get(username, id);
  if (!grant || !(await server.services.get("grants").valid(grant))) return "not-found";
  // Its sessions hear which app lost access before the grant's own clean-up closes them.
  const text = revokedText(clientLabel(grantUserAgent(grant)), context);
  for (const s of server.streams) if (s.username === username && s.data.grantId === id) s.close(streamErrors.clientAccessRevoked, text);
  await server.services.get("grants").revokeGrant(username, id, "revoked by the user");
  const name = grantUserAgent(grant).software;
  await server.bus.emit("client-revoked", { username, grantId: id, ...(name ? { name } : {}), ...context });
  return "revoked";
}
