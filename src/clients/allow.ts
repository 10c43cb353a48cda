// Giving a revoked client back its access. A SASL2 client whose id was revoked stays refused
// (even with the password) until the password changes; "allow again" on the account page or
// `warden shell user allow_client` lifts that, and the refusal it got says where to do so.
// Legacy clients (no client id) are never refused by id, so there is nothing to allow.
import type { Server } from "../core/server.js";
import { saslFailures, type SaslFailureDef } from "../core/errors.js";
import type { ClientRecord, UserRecord } from "../storage/types.js";

/** Whether a record's revocation still holds: a later password change ends it. */
export function refused(rec: ClientRecord, user: UserRecord): boolean {
  return !rec.legacy && rec.revokedAt !== undefined && rec.revokedAt >= user.passwordChangedAt;
}

/** SASL2 clients of an account that are refused now, most recently revoked first. */
export async function revokedClients(server: Server, username: string): Promise<ClientRecord[]> {
  const user = await server.storage.users.get(username);
  if (!user) return [];
  return (await server.storage.clients.list(username)).filter((r) => refused(r, user)).sort((a, b) => b.revokedAt! - a.revokedAt!);
}

/**
 * The SASL failure a revoked client gets. Clients show its text to a person, so it says
 * where access can be given back: the account page's public URL when http_external_url
 * is set (the only address known to be right from outside), else just its name.
 */
export function clientRevokedFailure(server: Server): SaslFailureDef {
  const base = server.config.http_external_url;
  const where = base ? `your account page, ${base.replace(/\/+$/, "")}/account` : "your account page";
  return { ...saslFailures.clientRevoked, text: `Access for this client was revoked. You can allow it again on ${where}` };
}

export type AllowResult = "allowed" | "not-found";

/** Lifts a client's revocation ("client/<id>" selector), recorded in the security history. */
export async function allowClient(
  server: Server,
  username: string,
  selector: string | undefined,
  context: { via?: string; ip?: string } = {},
): Promise<AllowResult> {
  const m = selector === undefined ? null : /^client\/(.+)$/s.exec(selector);
  if (!m) return "not-found";
  const [user, rec] = await Promise.all([server.storage.users.get(username), server.storage.clients.get(username, m[1]!)]);
  if (!user || !rec || !refused(rec, user)) return "not-found";
  const { revokedAt: _gone, ...allowed } = rec;
  await server.storage.clients.put(allowed);
  await server.bus.emit("client-allowed", { username, clientId: rec.id, ...context });
  return "allowed";
}
