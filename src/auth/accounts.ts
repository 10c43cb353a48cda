// Account operations shared by the `warden` command, the admin socket and (later) the account
// page: each validates its input, writes in one transaction, then tells the bus.
import { deriveAll } from "./credentials.js";
import { parseJid } from "../core/jid.js";
import { StorageConflictError, type Storage } from "../storage/types.js";

export class AccountError extends Error {
  constructor(
    public readonly code: "bad-jid" | "wrong-domain" | "exists" | "not-found" | "bad-password",
    message: string,
  ) {
    super(message);
    this.name = "AccountError";
  }
}

/** Turns "alice" or "alice@domain" into the normalised local part of an account on `domain`. */
export function accountName(input: string, domain: string): string {
  const jid = parseJid(input.includes("@") ? input : `${input}@${domain}`);
  if (!jid || !jid.local || jid.resource) throw new AccountError("bad-jid", `'${input}' is not a valid account JID`);
  if (jid.domain !== domain) throw new AccountError("wrong-domain", `'${input}' is not on this server's domain (${domain})`);
  return jid.local;
}

function credentials(password: string, iterations: number) {
  if (password.length === 0) throw new AccountError("bad-password", "the password is empty");
  try {
    return deriveAll(password, iterations);
  } catch (err) {
    throw new AccountError("bad-password", `the password is not allowed: ${(err as Error).message}`);
  }
}

export async function createAccount(storage: Storage, username: string, password: string, iterations: number): Promise<void> {
  const scram = credentials(password, iterations);
  const now = Date.now();
  try {
    await storage.users.create({ username, scram, passwordChangedAt: now, createdAt: now });
  } catch (err) {
    if (err instanceof StorageConflictError) throw new AccountError("exists", `the account '${username}' already exists`);
    throw err;
  }
}

export async function changePassword(storage: Storage, username: string, password: string, iterations: number): Promise<number> {
  const scram = credentials(password, iterations);
  const now = Date.now();
  if (!(await storage.users.setCredentials(username, scram, now))) throw new AccountError("not-found", `no account '${username}'`);
  return now;
}

/** A new password, and every grant and token of the account deleted with it (one transaction). */
export async function resetPassword(
  storage: Storage,
  username: string,
  password: string,
  iterations: number,
): Promise<{ changedAt: number; grants: string[] }> {
  const scram = credentials(password, iterations);
  const now = Date.now();
  const grants = await storage.users.resetCredentials(username, scram, now);
  if (!grants) throw new AccountError("not-found", `no account '${username}'`);
  return { changedAt: now, grants };
}

export async function deleteAccount(storage: Storage, username: string): Promise<void> {
  if (!(await storage.users.delete(username))) throw new AccountError("not-found", `no account '${username}'`);
}
