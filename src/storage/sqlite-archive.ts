// The message archive on SQLite (XEP-0313). Pages are index range scans: a row's position is
// its seq (the rowid), an RSM id is found through (username, id), and a page reads at most
// max + 1 rows along (username, seq) or (username, with_jid, seq), so paging deep into a big
// archive costs the same as the first page.
import type Database from "better-sqlite3";
import type { ArchivedMessage, ArchivePage, ArchivePrefs, ArchiveQuery, ArchiveStore } from "./types.js";

type Db = Database.Database;
type Param = string | number;

interface Row {
  id: string;
  with_jid: string;
  with_resource: string | null;
  at: number;
  stanza: string;
}

interface PrefsRow {
  default_policy: ArchivePrefs["default"];
  always_jids: string;
  never_jids: string;
}

const COLUMNS = "id, with_jid, with_resource, at, stanza";

function toMessage(r: Row): ArchivedMessage {
  const m: ArchivedMessage = { id: r.id, with: r.with_jid, at: r.at, stanza: r.stanza };
  if (r.with_resource !== null) m.withResource = r.with_resource;
  return m;
}

function isForeignKeyError(err: unknown): boolean {
  return (err as { code?: string }).code === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

export function archiveStore(db: Db): ArchiveStore {
  const insert = db.prepare(
    "INSERT INTO archive (username, id, with_jid, with_resource, at, stanza) VALUES (@username, @id, @with_jid, @with_resource, @at, @stanza)",
  );
  const seqOf = db.prepare<[string, string], number>("SELECT seq FROM archive WHERE username = ? AND id = ?").pluck();
  const firstSince = db.prepare<[string, number], number>("SELECT seq FROM archive WHERE username = ? AND at >= ? ORDER BY at, seq LIMIT 1").pluck();
  const lastUntil = db.prepare<[string, number], number>("SELECT seq FROM archive WHERE username = ? AND at <= ? ORDER BY at DESC, seq DESC LIMIT 1").pluck();
  const oldest = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM archive WHERE username = ? ORDER BY seq LIMIT 1`);
  const newest = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM archive WHERE username = ? ORDER BY seq DESC LIMIT 1`);
  const getPrefs = db.prepare<[string], PrefsRow>("SELECT default_policy, always_jids, never_jids FROM archive_prefs WHERE username = ?");
  const putPrefs = db.prepare(
    `INSERT INTO archive_prefs (username, default_policy, always_jids, never_jids) VALUES (?, ?, ?, ?)
     ON CONFLICT (username) DO UPDATE SET default_policy = excluded.default_policy, always_jids = excluded.always_jids, never_jids = excluded.never_jids`,
  );
  const purge = db.prepare("DELETE FROM archive WHERE seq IN (SELECT seq FROM archive WHERE at < ? ORDER BY at LIMIT ?)");
  const markSynced = db.prepare(
    `INSERT INTO archive_sync (username, client_id, last_query) VALUES (?, ?, ?)
     ON CONFLICT (username, client_id) DO UPDATE SET last_query = max(last_query, excluded.last_query)`,
  );
  const synced = db.prepare<[string], { client_id: string; last_query: number }>("SELECT client_id, last_query FROM archive_sync WHERE username = ?");

  // A query's SQL depends only on which filters it has: a few dozen shapes at most.
  const statements = new Map<string, Database.Statement<Param[]>>();
  const prepared = (sql: string) => {
    let st = statements.get(sql);
    if (!st) statements.set(sql, (st = db.prepare<Param[]>(sql)));
    return st;
  };

  const query = db.transaction((username: string, q: ArchiveQuery): ArchivePage | "item-not-found" => {
    const where = ["username = ?"];
    const params: Param[] = [username];
    const and = (cond: string, ...values: Param[]) => {
      where.push(cond);
      params.push(...values);
    };
    if (q.with !== undefined) and("with_jid = ?", q.with);
    if (q.withResource !== undefined) and("with_resource = ?", q.withResource);
    // Times become positions first (index (username, at, seq)), so a page from a recent start
    // reads max + 1 rows instead of everything older. The time test stays, for a clock that
    // went back while messages were archived; its '+' keeps the planner on the seq index.
    if (q.start !== undefined) {
      and("+at >= ?", q.start);
      and("seq >= ?", firstSince.get(username, q.start) ?? Number.MAX_SAFE_INTEGER);
    }
    if (q.end !== undefined) {
      and("+at <= ?", q.end);
      and("seq <= ?", lastUntil.get(username, q.end) ?? -1);
    }
    const bound = (id: string | undefined, op: "<" | ">"): boolean => {
      if (id === undefined) return true;
      const seq = seqOf.get(username, id);
      if (seq !== undefined) and(`seq ${op} ?`, seq);
      return seq !== undefined;
    };
    if (!bound(q.afterId, ">") || !bound(q.beforeId, "<")) return "item-not-found";
    if (q.ids) {
      const seqs = q.ids.map((id) => seqOf.get(username, id));
      if (seqs.some((s) => s === undefined)) return "item-not-found";
      and(`seq IN (${seqs.map(() => "?").join(", ")})`, ...(seqs as number[]));
    }
    const set = where.join(" AND ");
    const setParams = [...params];
    if (!bound(q.pageAfter, ">") || !bound(q.pageBefore, "<")) return "item-not-found";
    const order = q.fromEnd ? "DESC" : "ASC";
    const rows = prepared(`SELECT ${COLUMNS} FROM archive WHERE ${where.join(" AND ")} ORDER BY seq ${order} LIMIT ?`).all(...params, q.max + 1) as Row[];
    const complete = rows.length <= q.max;
    const items = rows.slice(0, q.max).map(toMessage);
    if (q.fromEnd) items.reverse();
    const page: ArchivePage = { items, complete };
    if (q.count)
      page.count = prepared(`SELECT count(*) FROM archive WHERE ${set}`)
        .pluck()
        .get(...setParams) as number;
    return page;
  });

  return {
    // One transaction per append, inside the call: the caller's delivery follows in the same turn
    // of the event loop, which the stream's flow control relies on. (A group commit that waited
    // for the next turn let a client's unread input pile up between reads.)
    append: async (username, m) => {
      try {
        insert.run({ username, id: m.id, with_jid: m.with, with_resource: m.withResource ?? null, at: m.at, stanza: m.stanza });
        return true;
      } catch (err) {
        if (isForeignKeyError(err)) return false;
        throw err;
      }
    },
    query: async (username, q) => query(username, q),
    bounds: async (username) => {
      const first = oldest.get(username);
      const last = newest.get(username);
      return first && last ? { first: toMessage(first), last: toMessage(last) } : undefined;
    },
    getPrefs: async (username) => {
      const r = getPrefs.get(username);
      if (!r) return undefined;
      return { default: r.default_policy, always: JSON.parse(r.always_jids) as string[], never: JSON.parse(r.never_jids) as string[] };
    },
    setPrefs: async (username, p) => {
      putPrefs.run(username, p.default, JSON.stringify(p.always), JSON.stringify(p.never));
    },
    purge: async (before, limit) => purge.run(before, limit).changes,
    markSynced: async (username, clientId, at) => {
      try {
        markSynced.run(username, clientId, at);
      } catch (err) {
        // The client record was purged meanwhile: nothing to show it on.
        if (!isForeignKeyError(err)) throw err;
      }
    },
    synced: async (username) => new Map(synced.all(username).map((r) => [r.client_id, r.last_query])),
  };
}
