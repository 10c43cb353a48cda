// Tracks every client that logs in: SASL2 clients by their <user-agent id>, legacy clients by
// the resource they bind (the weaker fallback: resources are public and not unique).
import { randomBytes } from "node:crypto";
import type { Server } from "../core/server.js";
import { clientRevokedFailure, refused } from "./allow.js";
import type { Session } from "../core/session.js";
import type { ClientRecord, ClientUserAgent } from "../storage/types.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/session.js" {
  interface SessionData {
    /** The client record of a client without an id (legacy SASL), found by resource. */
    clientRecordId?: string;
    /** When the record's last-seen was written for this session. */
    clientTouchedAt?: number;
  }
}

const TOUCH_EVERY_MS = 10 * 60_000;

export default defineFeature({ name: "client-tracker", setup: tracker });

function tracker(server: Server): () => void {
  const ipOf = (s: Session) => (server.config.client_ip_tracking ? s.ip : undefined);
  // With IP tracking off, addresses recorded while it was on are not kept either.
  if (!server.config.client_ip_tracking) {
    server.storage.clients
      .forgetIps()
      .then((n) => {
        if (n > 0) server.log.info({ records: n }, "forgot the IP addresses of clients (client_ip_tracking is off)");
      })
      .catch((err) => server.log.error({ err }, "forgetting client IP addresses failed"));
  }

  /**
   * Saves a client's record after every login. Every one is written, even a reconnect seconds
   * after the last: listings must show the latest login and order by it at once, and one small
   * upsert is little next to the login itself (TLS handshake and SCRAM's PBKDF2).
   */
  const record = async (session: Session, rec: ClientRecord) => {
    session.data.clientRecordId = rec.id;
    const created = await server.storage.clients.put(rec);
    session.data.clientTouchedAt = rec.lastSeen;
    if (created) await server.bus.emit("new-client", { username: rec.username, client: rec, session });
  };

  const updated = (rec: ClientRecord, session: Session, now: number): ClientRecord => {
    const mech = session.authMechanism!;
    const next: ClientRecord = { ...rec, lastSeen: Math.max(now, rec.lastSeen), mechanisms: { ...rec.mechanisms, [mech]: now } };
    if (session.jid) next.fullJid = session.jid.toString();
    if (mech.startsWith("HT-")) next.fastAuth = now;
    if (session.data.grantId && mech === "OAUTHBEARER") next.grantId = session.data.grantId;
    const ip = ipOf(session);
    if (ip) next.lastIp = ip;
    else delete next.lastIp;
    return next;
  };

  // A client whose access was revoked stays out until the password changes (a revoked phone
  // that still knows the password must not simply log in again).
  server.bus.on(
    "authentication-success",
    async ({ session, username }) => {
      const clientId = session.data.clientId;
      if (!clientId) return undefined;
      const rec = await server.storage.clients.get(username, clientId);
      if (rec?.revokedAt === undefined) return undefined;
      const user = await server.storage.users.get(username);
      if (user && refused(rec, user)) return clientRevokedFailure(server);
      return undefined;
    },
    "track",
  );

  server.bus.on(
    "sasl2-success",
    async (ev) => {
      const session = ev.state.resumed ?? ev.session;
      const clientId = ev.session.data.clientId;
      if (!clientId) return;
      const now = Date.now();
      const existing = await server.storage.clients.get(ev.username, clientId);
      const ua = ev.session.data.userAgent ?? {};
      const userAgent: ClientUserAgent = {};
      if (ua.software) userAgent.software = ua.software;
      if (ua.device) userAgent.device = ua.device;
      const base: ClientRecord = existing ?? { username: ev.username, id: clientId, legacy: false, firstSeen: now, lastSeen: now, mechanisms: {}, userAgent };
      // The record (first seen, user agent) outlives password changes and revocations, as in the reference.
      const rec = updated(base, ev.session, now);
      if (ev.state.resumed && session.jid) rec.fullJid = session.jid.toString();
      await record(ev.session, rec);
      if (session !== ev.session) session.data.clientRecordId = rec.id;
    },
    "normal",
  );

  // Legacy clients (no client id) are known by the full JID they bind; SASL2 clients that
  // bind the old way get their full JID recorded here.
  server.bus.on("resource-bound", async ({ session }) => {
    const now = Date.now();
    const clientId = session.data.clientId;
    if (clientId) {
      const rec = await server.storage.clients.get(session.username!, clientId);
      if (rec && rec.fullJid !== session.jid!.toString()) await server.storage.clients.put({ ...rec, fullJid: session.jid!.toString() });
      return;
    }
    const fullJid = session.jid!.toString();
    const existing = await server.storage.clients.findLegacy(session.username!, fullJid);
    const base: ClientRecord = existing ?? {
      username: session.username!,
      id: randomBytes(9).toString("base64url"),
      legacy: true,
      firstSeen: now,
      lastSeen: now,
      mechanisms: {},
    };
    await record(session, updated(base, session, now));
  });

  // Long-lived sessions keep their last-seen fresh, written at most every ten minutes each.
  const refresher = setInterval(() => {
    const now = Date.now();
    for (const s of server.registry.all()) {
      const id = s.data.clientRecordId;
      const at = s.data.clientTouchedAt ?? 0;
      if (!id || now - at < TOUCH_EVERY_MS) continue;
      s.data.clientTouchedAt = now;
      server.storage.clients.touch(s.username!, id, now).catch((err) => server.log.error({ err }, "client last-seen update failed"));
    }
  }, 60_000);
  refresher.unref();

  // Privacy: records of clients that have had no access for client_retention_days go.
  const purge = async () => {
    const keep = [...server.registry.all()].flatMap((s) => (s.username && s.data.clientRecordId ? [{ username: s.username, id: s.data.clientRecordId }] : []));
    const n = await server.storage.clients.purge(Date.now() - server.config.client_retention_days * 86400_000, keep);
    if (n > 0) server.log.info({ deleted: n }, "deleted old client records");
  };
  const purger = setInterval(() => {
    purge().catch((err) => server.log.error({ err }, "client record clean-up failed"));
  }, 3600_000);
  purger.unref();
  void purge().catch((err) => server.log.error({ err }, "client record clean-up failed"));

  return () => {
    clearInterval(refresher);
    clearInterval(purger);
  };
}
