// Invitations on SQLite (the InviteStore of types.ts). Taking one is a single DELETE …
// RETURNING guarded by its expiry, so two redemptions of the same token cannot both succeed.
import type Database from "better-sqlite3";
import type { InviteKind, InviteRecord, InviteStore } from "./types.js";

type Db = Database.Database;

interface Row {
  hash: string;
  id: string;
  kind: InviteKind;
  username: string | null;
  created_at: number;
  expires_at: number;
}

function toInvite(r: Row): InviteRecord {
  const i: InviteRecord = { id: r.id, hash: r.hash, kind: r.kind, createdAt: r.created_at, expiresAt: r.expires_at };
  if (r.username !== null) i.username = r.username;
  return i;
}

export function inviteStore(db: Db): InviteStore {
  const insert = db.prepare(
    "INSERT INTO invites (hash, id, kind, username, created_at, expires_at) VALUES (@hash, @id, @kind, @username, @createdAt, @expiresAt)",
  );
  const byHash = db.prepare<[string], Row>("SELECT * FROM invites WHERE hash = ?");
  const take = db.prepare<[string, number], Row>("DELETE FROM invites WHERE hash = ? AND expires_at > ? RETURNING *");
  const all = db.prepare<[], Row>("SELECT * FROM invites ORDER BY created_at");
  const byId = db.prepare<[string]>("DELETE FROM invites WHERE id = ?");
  const purge = db.prepare<[number]>("DELETE FROM invites WHERE expires_at < ?");
  return {
    create: async (invite) => {
      insert.run({ ...invite, username: invite.username ?? null });
    },
    get: async (hash) => {
      const r = byHash.get(hash);
      return r ? toInvite(r) : undefined;
    },
    take: async (hash, now) => {
      const r = take.get(hash, now);
      return r ? toInvite(r) : undefined;
    },
    list: async () => all.all().map(toInvite),
    delete: async (id) => byId.run(id).changes > 0,
    purge: async (before) => purge.run(before).changes,
  };
}
