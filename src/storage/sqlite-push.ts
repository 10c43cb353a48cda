// Push registrations (XEP-0357) on SQLite: one row per client, replaced when the client enables
// again. The limit per account is checked in the same transaction as the write, so two clients
// enabling at once cannot both slip under it.
import type Database from "better-sqlite3";
import { durable } from "./sqlite-durable.js";
import type { PushRegistration, PushStore } from "./types.js";

type Db = Database.Database;

interface Row {
  username: string;
  client_id: string;
  jid: string;
  node: string;
  options: string;
  created_at: number;
}

function toRegistration(r: Row): PushRegistration {
  return {
    username: r.username,
    clientId: r.client_id,
    jid: r.jid,
    node: r.node,
    options: JSON.parse(r.options) as PushRegistration["options"],
    createdAt: r.created_at,
  };
}

class OverLimit extends Error {}

export function pushStore(db: Db): PushStore {
  const selectOne = db.prepare<[string, string], Row>("SELECT * FROM push_registrations WHERE username = ? AND client_id = ?");
  const selectAll = db.prepare<[string], Row>("SELECT * FROM push_registrations WHERE username = ? ORDER BY created_at");
  const countOthers = db.prepare<[string, string], number>("SELECT count(*) FROM push_registrations WHERE username = ? AND client_id <> ?").pluck();
  const upsert = db.prepare(
    `INSERT INTO push_registrations (username, client_id, jid, node, options, created_at) VALUES (@username, @client_id, @jid, @node, @options, @created_at)
     ON CONFLICT (username, client_id) DO UPDATE SET jid = excluded.jid, node = excluded.node, options = excluded.options, created_at = excluded.created_at`,
  );
  const delByService = db.prepare<[string, string], string>("DELETE FROM push_registrations WHERE username = ? AND jid = ? RETURNING client_id").pluck();
  const delByNode = db
    .prepare<[string, string, string], string>("DELETE FROM push_registrations WHERE username = ? AND jid = ? AND node = ? RETURNING client_id")
    .pluck();
  const delOne = db.prepare("DELETE FROM push_registrations WHERE username = ? AND client_id = ?");
  const delAll = db.prepare("DELETE FROM push_registrations WHERE username = ?");

  const delSameNode = db.prepare("DELETE FROM push_registrations WHERE username = ? AND jid = ? AND node = ? AND client_id <> ?");

  const put = db.transaction((reg: PushRegistration, max: number): boolean => {
    // One service and node is one device (§5: the last request wins), whichever client asked last.
    delSameNode.run(reg.username, reg.jid, reg.node, reg.clientId);
    if (countOthers.get(reg.username, reg.clientId)! >= max) throw new OverLimit();
    upsert.run({
      username: reg.username,
      client_id: reg.clientId,
      jid: reg.jid,
      node: reg.node,
      options: JSON.stringify(reg.options),
      created_at: reg.createdAt,
    });
    return true;
  });

  return {
    put: async (reg, max) => {
      try {
        return put.immediate(reg, max);
      } catch (err) {
        if (err instanceof OverLimit) return false; // rolled back: nothing changed
        throw err;
      }
    },
    get: async (username, clientId) => {
      const r = selectOne.get(username, clientId);
      return r && toRegistration(r);
    },
    list: async (username) => selectAll.all(username).map(toRegistration),
    disable: async (username, jid, node) => (node === undefined ? delByService.all(username, jid) : delByNode.all(username, jid, node)),
    // Taking a device's push away must survive a power loss, as any revocation.
    remove: async (username, clientId) => durable(db, () => delOne.run(username, clientId).changes > 0),
    removeAll: async (username) => durable(db, () => delAll.run(username).changes),
  };
}
