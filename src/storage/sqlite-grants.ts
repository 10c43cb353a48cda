// Grants and their tokens on SQLite. Deleting a grant deletes its tokens (ON DELETE CASCADE),
// so revocation is one statement and can never leave a live token behind.
import type Database from "better-sqlite3";
import { durable } from "./sqlite-durable.js";
import type { GrantRecord, GrantStore, TokenRecord } from "./types.js";

type Db = Database.Database;

interface GrantRow {
  id: string;
  username: string;
  kind: string;
  client_id: string | null;
  created_at: number;
  accessed_at: number;
  expires_at: number | null;
  data: string;
}
interface TokenRow {
  hash: string;
  grant_id: string;
  username: string;
  purpose: string;
  role: string | null;
  slot: "new" | "cur" | null;
  mechanism: string | null;
  created_at: number;
  expires_at: number | null;
  secret: Buffer | null;
  last_count: number | null;
  data: string | null;
}

function toGrant(r: GrantRow): GrantRecord {
  const g: GrantRecord = {
    id: r.id,
    username: r.username,
    kind: r.kind,
    createdAt: r.created_at,
    accessedAt: r.accessed_at,
    data: JSON.parse(r.data) as GrantRecord["data"],
  };
  if (r.client_id !== null) g.clientId = r.client_id;
  if (r.expires_at !== null) g.expiresAt = r.expires_at;
  return g;
}

function toToken(r: TokenRow): TokenRecord {
  const t: TokenRecord = { hash: r.hash, grantId: r.grant_id, username: r.username, purpose: r.purpose, createdAt: r.created_at };
  if (r.role !== null) t.role = r.role;
  if (r.slot !== null) t.slot = r.slot;
  if (r.mechanism !== null) t.mechanism = r.mechanism;
  if (r.expires_at !== null) t.expiresAt = r.expires_at;
  if (r.secret !== null) t.secret = r.secret;
  if (r.last_count !== null) t.lastCount = r.last_count;
  if (r.data !== null) t.data = JSON.parse(r.data) as TokenRecord["data"];
  return t;
}

export function grantStore(db: Db): GrantStore {
  const insertGrant = db.prepare(
    "INSERT INTO grants (id, username, kind, client_id, created_at, accessed_at, expires_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const selectGrant = db.prepare<[string, string], GrantRow>("SELECT * FROM grants WHERE username = ? AND id = ?");
  const selectGrants = db.prepare<[string], GrantRow>("SELECT * FROM grants WHERE username = ? ORDER BY created_at");
  const selectByClient = db.prepare<[string, string, string], GrantRow>(
    "SELECT * FROM grants WHERE username = ? AND kind = ? AND client_id = ? ORDER BY created_at DESC LIMIT 1",
  );
  const touch = db.prepare("UPDATE grants SET accessed_at = ? WHERE username = ? AND id = ? AND accessed_at < ?");
  const deleteGrant = db.prepare("DELETE FROM grants WHERE username = ? AND id = ?");
  const clearSlot = db.prepare("DELETE FROM tokens WHERE grant_id = ? AND slot = ?");
  const insertToken = db.prepare(
    "INSERT INTO tokens (hash, grant_id, username, purpose, role, slot, mechanism, created_at, expires_at, secret, last_count, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const selectTokens = db.prepare<[string], TokenRow>("SELECT * FROM tokens WHERE grant_id = ? ORDER BY created_at");
  const selectUserTokens = db.prepare<[string], TokenRow>(
    "SELECT hash, grant_id, username, purpose, role, slot, mechanism, created_at, expires_at, NULL AS secret, last_count, data FROM tokens WHERE username = ?",
  );
  const selectToken = db.prepare<[string], TokenRow>("SELECT * FROM tokens WHERE hash = ?");
  const deleteToken = db.prepare("DELETE FROM tokens WHERE hash = ?");
  const setSlot = db.prepare("UPDATE tokens SET slot = 'cur' WHERE hash = ?");
  const advance = db.prepare("UPDATE tokens SET last_count = ? WHERE hash = ? AND (last_count IS NULL OR last_count < ?)");
  const deleteExpiredTokens = db.prepare("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?");
  const deleteDeadGrants = db.prepare<[number], { username: string; id: string }>(
    `DELETE FROM grants WHERE (expires_at IS NOT NULL AND expires_at <= ?)
       OR created_at < (SELECT password_changed_at FROM users WHERE users.username = grants.username)
     RETURNING username, id`,
  );

  const addToken = db.transaction((t: TokenRecord) => {
    if (t.slot) clearSlot.run(t.grantId, t.slot);
    insertToken.run(
      t.hash,
      t.grantId,
      t.username,
      t.purpose,
      t.role ?? null,
      t.slot ?? null,
      t.mechanism ?? null,
      t.createdAt,
      t.expiresAt ?? null,
      t.secret ?? null,
      t.lastCount ?? null,
      t.data ? JSON.stringify(t.data) : null,
    );
  });
  const replace = db.transaction((hash: string, tokens: TokenRecord[]) => {
    if (deleteToken.run(hash).changes === 0) return false;
    for (const t of tokens) addToken(t);
    return true;
  });
  const promote = db.transaction((hash: string) => {
    const row = selectToken.get(hash);
    if (!row || row.slot !== "new") return;
    clearSlot.run(row.grant_id, "cur");
    setSlot.run(hash);
  });
  const purge = db.transaction((now: number) => {
    deleteExpiredTokens.run(now);
    return deleteDeadGrants.all(now);
  });

  return {
    create: async (g) => {
      insertGrant.run(g.id, g.username, g.kind, g.clientId ?? null, g.createdAt, g.accessedAt, g.expiresAt ?? null, JSON.stringify(g.data));
    },
    get: async (username, id) => {
      const r = selectGrant.get(username, id);
      return r && toGrant(r);
    },
    list: async (username) => selectGrants.all(username).map(toGrant),
    findByClient: async (username, kind, clientId) => {
      const r = selectByClient.get(username, kind, clientId);
      return r && toGrant(r);
    },
    touch: async (username, id, at) => {
      touch.run(at, username, id, at);
    },
    revoke: async (username, id) => durable(db, () => deleteGrant.run(username, id).changes > 0),
    addToken: async (t) => addToken.immediate(t),
    tokens: async (grantId) => selectTokens.all(grantId).map(toToken),
    userTokens: async (username) => selectUserTokens.all(username).map(toToken),
    getToken: async (hash) => {
      const r = selectToken.get(hash);
      return r && toToken(r);
    },
    deleteToken: async (hash) => durable(db, () => deleteToken.run(hash).changes > 0),
    replaceToken: async (hash, tokens) => durable(db, () => replace.immediate(hash, tokens)),
    promoteToken: async (hash) => promote.immediate(hash),
    advanceCount: async (hash, count) => advance.run(count, hash, count).changes > 0,
    purge: async (now) => durable(db, () => purge.immediate(now)),
  };
}
