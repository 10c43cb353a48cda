// The security history (account page) on SQLite. Failed logins are coalesced: a failure
// right after another one (no other event of the account in between) adds to its count and
// moves its time and last IP, so a password-guessing run is one row, not thousands (failures
// by another way, say XMPP after the account page, start a new row).
import type Database from "better-sqlite3";
import type { SecurityEvent, SecurityEventStore } from "./types.js";

type Db = Database.Database;

interface Row {
  id: number;
  username: string;
  at: number;
  kind: string;
  ip: string | null;
  count: number;
  first_at: number;
  data: string;
}

function toEvent(r: Row): SecurityEvent {
  const e: SecurityEvent = {
    id: r.id,
    username: r.username,
    at: r.at,
    kind: r.kind,
    count: r.count,
    firstAt: r.first_at,
    data: JSON.parse(r.data) as SecurityEvent["data"],
  };
  if (r.ip !== null) e.ip = r.ip;
  return e;
}

/** Most rows kept per account: a flood of distinct events cannot grow the table without bound. */
const MAX_PER_ACCOUNT = 500;

export function securityEventStore(db: Db): SecurityEventStore {
  // INSERT … SELECT … WHERE EXISTS: events of accounts that do not exist are not kept.
  const insert = db.prepare(
    `INSERT INTO security_events (username, at, first_at, kind, ip, count, data)
     SELECT @username, @at, @at, @kind, @ip, @count, @data WHERE EXISTS (SELECT 1 FROM users WHERE username = @username)`,
  );
  const latest = db.prepare<[string], Row>("SELECT * FROM security_events WHERE username = ? ORDER BY id DESC LIMIT 1");
  const bump = db.prepare("UPDATE security_events SET count = count + 1, at = MAX(at, ?), ip = ? WHERE id = ?");
  const list = db.prepare<[string, number], Row>("SELECT * FROM security_events WHERE username = ? ORDER BY id DESC LIMIT ?");
  const trim = db.prepare(
    `DELETE FROM security_events WHERE username = ? AND id <= (
       SELECT id FROM security_events WHERE username = ? ORDER BY id DESC LIMIT 1 OFFSET ${MAX_PER_ACCOUNT})`,
  );
  const purge = db.prepare("DELETE FROM security_events WHERE at < ?");

  const add = db.transaction((e: Omit<SecurityEvent, "id" | "count" | "firstAt">, coalesce: boolean): boolean => {
    if (coalesce) {
      const last = latest.get(e.username);
      if (last && last.kind === e.kind && last.data === JSON.stringify(e.data ?? {})) {
        bump.run(e.at, e.ip ?? null, last.id);
        return true;
      }
    }
    const done = insert.run({ username: e.username, at: e.at, kind: e.kind, ip: e.ip ?? null, count: 1, data: JSON.stringify(e.data ?? {}) }).changes > 0;
    if (done) trim.run(e.username, e.username);
    return done;
  });

  return {
    add: async (e) => add.immediate(e, false),
    addCoalesced: async (e) => add.immediate(e, true),
    list: async (username, limit) => list.all(username, limit).map(toEvent),
    purge: async (before) => purge.run(before).changes,
  };
}
