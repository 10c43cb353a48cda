// Per-account XML documents (vCard, private XML) and the blocklist on SQLite.
import type Database from "better-sqlite3";
import type { BlocklistStore, DocumentStore } from "./types.js";

type Db = Database.Database;

export function documentStore(db: Db): DocumentStore {
  const select = db.prepare<[string, string, string], string>("SELECT xml FROM account_documents WHERE username = ? AND kind = ? AND key = ?").pluck();
  const exists = db.prepare<[string, string, string], number>("SELECT 1 FROM account_documents WHERE username = ? AND kind = ? AND key = ?").pluck();
  const count = db.prepare<[string, string], number>("SELECT count(*) FROM account_documents WHERE username = ? AND kind = ?").pluck();
  const user = db.prepare<[string], number>("SELECT 1 FROM users WHERE username = ?").pluck();
  const upsert = db.prepare(
    `INSERT INTO account_documents (username, kind, key, xml) VALUES (?, ?, ?, ?)
     ON CONFLICT (username, kind, key) DO UPDATE SET xml = excluded.xml`,
  );
  const del = db.prepare("DELETE FROM account_documents WHERE username = ? AND kind = ? AND key = ?");

  const put = db.transaction((username: string, kind: string, key: string, xml: string, maxKeys: number): boolean => {
    if (user.get(username) === undefined) return false;
    if (exists.get(username, kind, key) === undefined && (count.get(username, kind) ?? 0) >= maxKeys) return false;
    upsert.run(username, kind, key, xml);
    return true;
  });

  return {
    get: async (username, kind, key) => select.get(username, kind, key),
    put: async (username, kind, key, xml, maxKeys) => put.immediate(username, kind, key, xml, maxKeys),
    delete: async (username, kind, key) => del.run(username, kind, key).changes > 0,
  };
}

export function blocklistStore(db: Db): BlocklistStore {
  const list = db.prepare<[string], string>("SELECT jid FROM blocklist WHERE username = ? ORDER BY jid").pluck();
  const user = db.prepare<[string], number>("SELECT 1 FROM users WHERE username = ?").pluck();
  const insert = db.prepare("INSERT INTO blocklist (username, jid) VALUES (?, ?) ON CONFLICT DO NOTHING");
  const delOne = db.prepare("DELETE FROM blocklist WHERE username = ? AND jid = ?");
  const delAll = db.prepare<[string], string>("DELETE FROM blocklist WHERE username = ? RETURNING jid").pluck();

  const add = db.transaction((username: string, jids: string[], max: number): string[] | undefined => {
    if (user.get(username) === undefined) return undefined;
    const have = new Set(list.all(username));
    const fresh = [...new Set(jids)].filter((j) => !have.has(j));
    if (have.size + fresh.length > max) return undefined;
    for (const j of fresh) insert.run(username, j);
    return fresh;
  });
  const remove = db.transaction((username: string, jids?: string[]): string[] => {
    if (!jids) return delAll.all(username);
    return [...new Set(jids)].filter((j) => delOne.run(username, j).changes > 0);
  });

  return {
    list: async (username) => list.all(username),
    add: async (username, jids, max) => add.immediate(username, jids, max),
    remove: async (username, jids) => remove.immediate(username, jids),
  };
}
