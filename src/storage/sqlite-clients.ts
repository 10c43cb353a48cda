// Client records on SQLite.
import type Database from "better-sqlite3";
import { durable } from "./sqlite-durable.js";
import type { ClientRecord, ClientStore } from "./types.js";

type Db = Database.Database;

interface Row {
  username: string;
  id: string;
  legacy: number;
  first_seen: number;
  last_seen: number;
  full_jid: string | null;
  mechanisms: string;
  fast_auth: number | null;
  grant_id: string | null;
  user_agent: string | null;
  last_ip: string | null;
  revoked_at: number | null;
}

function toRecord(r: Row): ClientRecord {
  const c: ClientRecord = {
    username: r.username,
    id: r.id,
    legacy: r.legacy === 1,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    mechanisms: JSON.parse(r.mechanisms) as ClientRecord["mechanisms"],
  };
  if (r.full_jid !== null) c.fullJid = r.full_jid;
  if (r.fast_auth !== null) c.fastAuth = r.fast_auth;
  if (r.grant_id !== null) c.grantId = r.grant_id;
  if (r.user_agent !== null) c.userAgent = JSON.parse(r.user_agent) as ClientRecord["userAgent"];
  if (r.last_ip !== null) c.lastIp = r.last_ip;
  if (r.revoked_at !== null) c.revokedAt = r.revoked_at;
  return c;
}

export function clientStore(db: Db): ClientStore {
  const selectOne = db.prepare<[string, string], Row>("SELECT * FROM clients WHERE username = ? AND id = ?");
  const selectAll = db.prepare<[string], Row>("SELECT * FROM clients WHERE username = ? ORDER BY last_seen");
  const selectLegacy = db.prepare<[string, string], Row>("SELECT * FROM clients WHERE username = ? AND full_jid = ? AND legacy = 1 LIMIT 1");
  const upsert = db.prepare(
    `INSERT INTO clients (username, id, legacy, first_seen, last_seen, full_jid, mechanisms, fast_auth, grant_id, user_agent, last_ip, revoked_at)
     VALUES (@username, @id, @legacy, @first_seen, @last_seen, @full_jid, @mechanisms, @fast_auth, @grant_id, @user_agent, @last_ip, @revoked_at)
     ON CONFLICT (username, id) DO UPDATE SET legacy = excluded.legacy, last_seen = excluded.last_seen, full_jid = excluded.full_jid,
       mechanisms = excluded.mechanisms, fast_auth = excluded.fast_auth, grant_id = excluded.grant_id, user_agent = excluded.user_agent,
       last_ip = excluded.last_ip, revoked_at = excluded.revoked_at`,
  );
  const exists = db.prepare<[string, string], number>("SELECT 1 FROM clients WHERE username = ? AND id = ?").pluck();
  const touch = db.prepare("UPDATE clients SET last_seen = ? WHERE username = ? AND id = ? AND last_seen < ?");
  const stale = db.prepare<[number], { username: string; id: string }>("SELECT username, id FROM clients WHERE last_seen < ?");
  const del = db.prepare("DELETE FROM clients WHERE username = ? AND id = ?");
  const forgetIps = db.prepare("UPDATE clients SET last_ip = NULL WHERE last_ip IS NOT NULL");

  const put = db.transaction((c: ClientRecord): boolean => {
    const isNew = exists.get(c.username, c.id) === undefined;
    upsert.run({
      username: c.username,
      id: c.id,
      legacy: c.legacy ? 1 : 0,
      first_seen: c.firstSeen,
      last_seen: c.lastSeen,
      full_jid: c.fullJid ?? null,
      mechanisms: JSON.stringify(c.mechanisms),
      fast_auth: c.fastAuth ?? null,
      grant_id: c.grantId ?? null,
      user_agent: c.userAgent ? JSON.stringify(c.userAgent) : null,
      last_ip: c.lastIp ?? null,
      revoked_at: c.revokedAt ?? null,
    });
    return isNew;
  });
  const purge = db.transaction((before: number, keep: Array<{ username: string; id: string }>): number => {
    const kept = new Set(keep.map((k) => `${k.username}\0${k.id}`));
    let n = 0;
    for (const r of stale.all(before)) if (!kept.has(`${r.username}\0${r.id}`)) n += del.run(r.username, r.id).changes;
    return n;
  });

  return {
    get: async (username, id) => {
      const r = selectOne.get(username, id);
      return r && toRecord(r);
    },
    list: async (username) => selectAll.all(username).map(toRecord),
    findLegacy: async (username, fullJid) => {
      const r = selectLegacy.get(username, fullJid);
      return r && toRecord(r);
    },
    // A revocation must survive a power loss; a last-seen time need not.
    put: async (c) => (c.revokedAt !== undefined ? durable(db, () => put.immediate(c)) : put.immediate(c)),
    touch: async (username, id, at) => {
      touch.run(at, username, id, at);
    },
    purge: async (before, keep) => purge.immediate(before, keep),
    forgetIps: async () => forgetIps.run().changes,
  };
}
