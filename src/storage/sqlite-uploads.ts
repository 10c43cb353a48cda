// HTTP uploads (XEP-0363) on SQLite: slots and the records of stored files (the bytes are files
// in data_path/uploads, src/features/upload/files.ts). The quota check and the insert are one
// IMMEDIATE transaction, so two slot requests at once cannot both slip under a quota; a PUT
// claims its slot with one conditional UPDATE, so two PUTs to one slot cannot both write.
import type Database from "better-sqlite3";
import type { UploadRecord, UploadRefusal, UploadStore } from "./types.js";

type Db = Database.Database;

interface Row {
  id: string;
  username: string;
  client_id: string | null;
  filename: string;
  size: number;
  content_type: string;
  token_hash: string;
  created_at: number;
  slot_expires_at: number;
  revoked: number;
  uploaded_at: number | null;
  expires_at: number;
}

function toRecord(r: Row): UploadRecord {
  const u: UploadRecord = {
    id: r.id,
    username: r.username,
    filename: r.filename,
    size: r.size,
    contentType: r.content_type,
    tokenHash: r.token_hash,
    createdAt: r.created_at,
    slotExpiresAt: r.slot_expires_at,
    revoked: r.revoked === 1,
    expiresAt: r.expires_at,
  };
  if (r.client_id !== null) u.clientId = r.client_id;
  if (r.uploaded_at !== null) u.uploadedAt = r.uploaded_at;
  return u;
}

export function uploadStore(db: Db): UploadStore {
  const insert = db.prepare(
    `INSERT INTO uploads (id, username, client_id, filename, size, content_type, token_hash, created_at, slot_expires_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const userSince = db.prepare<[string, number], number>("SELECT coalesce(sum(size), 0) FROM uploads WHERE username = ? AND created_at >= ?").pluck();
  const total = db.prepare<[], number>("SELECT coalesce(sum(size), 0) FROM uploads").pluck();
  const selectOne = db.prepare<[string], Row>("SELECT * FROM uploads WHERE id = ?");
  const claim = db.prepare(
    "UPDATE uploads SET put_started_at = ? WHERE id = ? AND uploaded_at IS NULL AND put_started_at IS NULL AND revoked = 0 AND slot_expires_at > ?",
  );
  const release = db.prepare("UPDATE uploads SET put_started_at = NULL WHERE id = ? AND uploaded_at IS NULL");
  const complete = db.prepare("UPDATE uploads SET uploaded_at = ? WHERE id = ? AND uploaded_at IS NULL AND revoked = 0");
  const revoke = db.prepare("UPDATE uploads SET revoked = 1 WHERE username = ? AND client_id = ? AND uploaded_at IS NULL AND revoked = 0");
  const perClient = db.prepare<[string], { clientId: string; files: number; bytes: number }>(
    `SELECT client_id AS clientId, count(*) AS files, sum(size) AS bytes FROM uploads
     WHERE username = ? AND client_id IS NOT NULL AND uploaded_at IS NOT NULL GROUP BY client_id`,
  );
  const purge = db
    .prepare<[number, number], string>("DELETE FROM uploads WHERE expires_at <= ? OR (uploaded_at IS NULL AND slot_expires_at < ?) RETURNING id")
    .pluck();
  const exists = db.prepare<[string], number>("SELECT 1 FROM uploads WHERE id = ?").pluck();

  const addSlot = db.transaction((u: UploadRecord, q: { since: number; daily: number; global?: number }): UploadRefusal | undefined => {
    if (userSince.get(u.username, q.since)! + u.size > q.daily) return "daily-quota";
    if (q.global !== undefined && total.get()! + u.size > q.global) return "global-quota";
    insert.run(u.id, u.username, u.clientId ?? null, u.filename, u.size, u.contentType, u.tokenHash, u.createdAt, u.slotExpiresAt, u.expiresAt);
    return undefined;
  });
  const existing = db.transaction((ids: string[]) => new Set(ids.filter((id) => exists.get(id) !== undefined)));

  return {
    addSlot: async (u, q) => addSlot.immediate(u, q),
    get: async (id) => {
      const r = selectOne.get(id);
      return r && toRecord(r);
    },
    claim: async (id, now) => claim.run(now, id, now).changes > 0,
    release: async (id) => {
      release.run(id);
    },
    complete: async (id, at) => complete.run(at, id).changes > 0,
    revokeSlots: async (username, clientId) => revoke.run(username, clientId).changes,
    perClient: async (username) => perClient.all(username),
    purge: async (now, slotsBefore) => purge.all(now, slotsBefore),
    existing: async (ids) => existing(ids),
  };
}
