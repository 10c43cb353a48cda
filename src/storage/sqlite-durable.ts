import type Database from "better-sqlite3";

/**
 * Runs a write with synchronous=FULL: committed means on disk, even across a power loss. For
 * the writes that take access away (passwords, deletions, revocations). The pragma only
 * takes effect outside a transaction, which is where this is called.
 */
export function durable<T>(db: Database.Database, write: () => T): T {
  db.pragma("synchronous = FULL");
  try {
    return write();
  } finally {
    db.pragma("synchronous = NORMAL");
  }
}
