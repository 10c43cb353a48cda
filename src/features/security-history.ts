// The security history of each account, shown on the account page: new clients, new app
// grants, revocations and clients allowed again, password changes (and resets), account-page sign-ins and sign-outs, and failed
// logins (coalesced into one entry with a count and the last address). Kept for
// security_history_days; IP addresses only while client_ip_tracking is on.
// After each recorded event the bus hears "security-event" {username} (live page updates).
import type { Server } from "../core/server.js";
import type { ClientRecord } from "../storage/types.js";
import type { HistoryInput } from "../events.js";
import { grantUserAgent, isTokenMechanism } from "../clients/access.js";
import { defineFeature } from "../core/feature.js";

function clientName(c: ClientRecord | undefined): Record<string, unknown> {
  if (!c) return {};
  const out: Record<string, unknown> = {};
  if (c.userAgent?.software) out.software = c.userAgent.software;
  if (c.userAgent?.device) out.device = c.userAgent.device;
  if (c.legacy && c.fullJid) out.resource = c.fullJid.slice(c.fullJid.indexOf("/") + 1);
  return out;
}

export default defineFeature({ name: "security-history", setup: securityHistory });

function securityHistory(server: Server): () => void {
  const ipOf = (ip: string | undefined) => (server.config.client_ip_tracking ? ip : undefined);

  const record = async (e: HistoryInput): Promise<void> => {
    const ev = { username: e.username, at: Date.now(), kind: e.kind, data: e.data ?? {}, ...(ipOf(e.ip) ? { ip: ipOf(e.ip) } : {}) };
    const stored = e.coalesce ? await server.storage.events.addCoalesced(ev) : await server.storage.events.add(ev);
    if (stored) await server.bus.emit("security-event", { username: e.username, kind: e.kind });
  };
  const safely = (e: HistoryInput) => record(e).catch((err) => server.log.error({ err, kind: e.kind }, "security history write failed"));

  const offs = [
    server.bus.on("security-history", (e) => safely(e)),
    server.bus.on("new-client", ({ username, client, session }) =>
      safely({
        username,
        kind: "new-client",
        ip: session.ip,
        data: { client: client.id, mechanism: session.authMechanism, transport: session.data.transport ?? "tcp", ...clientName(client) },
      }),
    ),
    server.bus.on("grant-created", ({ username, grant }) => {
      if (grant.kind === "fast") return undefined; // a client's FAST token: the client itself is the news
      const ua = grantUserAgent(grant);
      return safely({
        username,
        kind: "new-grant",
        data: { grant: grant.id, kind: grant.kind, ...(ua.software ? { software: ua.software } : {}), ...(ua.device ? { device: ua.device } : {}) },
      });
    }),
    server.bus.on("client-revoked", async (ev) => {
      const client = ev.clientId !== undefined ? await server.storage.clients.get(ev.username, ev.clientId) : undefined;
      const data: Record<string, unknown> = { ...clientName(client), ...(ev.name ? { software: ev.name } : {}), via: ev.via ?? "xmpp" };
      if (ev.clientId !== undefined) data.client = ev.clientId;
      if (ev.grantId !== undefined) data.grant = ev.grantId;
      await safely({ username: ev.username, kind: "client-revoked", ip: ev.ip, data });
    }),
    // `reset`: "change password and sign out everywhere else" (src/clients/reset.ts), with what it ended.
    server.bus.on("password-changed", ({ username, via, ip, reset }) =>
      safely({ username, kind: reset ? "password-reset" : "password-changed", ip, data: { via: via ?? "admin", ...reset } }),
    ),
    server.bus.on("client-allowed", async ({ username, clientId, via, ip }) => {
      const client = await server.storage.clients.get(username, clientId);
      await safely({ username, kind: "client-allowed", ip, data: { ...clientName(client), client: clientId, via: via ?? "xmpp" } });
    }),
    server.bus.on("authentication-failure", ({ session, username, mechanism }) => {
      // Password guesses only: a stale token (expired, revoked, older than the password) is routine.
      if (!username || (mechanism !== undefined && isTokenMechanism(mechanism))) return undefined;
      return safely({ username, kind: "login-failed", ip: session.ip, data: { via: "xmpp" }, coalesce: true });
    }),
    server.bus.on("login-failed", ({ username, ip, via }) => safely({ username, kind: "login-failed", ip, data: { via }, coalesce: true })),
  ];

  const purge = async () => {
    const n = await server.storage.events.purge(Date.now() - server.config.security_history_days * 86400_000);
    if (n > 0) server.log.info({ deleted: n }, "deleted old security history entries");
  };
  const purger = setInterval(() => {
    purge().catch((err) => server.log.error({ err }, "security history clean-up failed"));
  }, 3600_000);
  purger.unref();
  void purge().catch((err) => server.log.error({ err }, "security history clean-up failed"));

  return () => {
    clearInterval(purger);
    for (const off of offs) off();
  };
}
