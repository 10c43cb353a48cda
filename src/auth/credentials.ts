// SCRAM credential derivation (RFC 5802 §3) and password checks against stored credentials.
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { ScramCredential, UserRecord } from "../storage/types.js";
import { preparePassword } from "./saslprep.js";

export type ScramHash = "SHA-1" | "SHA-256";
export const SCRAM_HASHES: readonly ScramHash[] = ["SHA-256", "SHA-1"];
export const DEFAULT_ITERATIONS = 4096;

const pbkdf2Async = promisify(pbkdf2);

export function digestName(hash: ScramHash): "sha1" | "sha256" {
  return hash === "SHA-1" ? "sha1" : "sha256";
}

export function hashLength(hash: ScramHash): number {
  return hash === "SHA-1" ? 20 : 32;
}

export function hmac(hash: ScramHash, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(digestName(hash), key).update(data).digest();
}

export function h(hash: ScramHash, data: Buffer): Buffer {
  return createHash(digestName(hash)).update(data).digest();
}

/** StoredKey and ServerKey from SaltedPassword. */
export function keysFromSalted(hash: ScramHash, salted: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  return {
    storedKey: h(hash, hmac(hash, salted, "Client Key")),
    serverKey: hmac(hash, salted, "Server Key"),
  };
}

/** Throws when the password is empty or prohibited by SASLprep. */
export function deriveScram(password: string, hash: ScramHash, iterations: number = DEFAULT_ITERATIONS, salt: Buffer = randomBytes(16)): ScramCredential {
  const prepared = preparePassword(password);
  const salted = pbkdf2Sync(prepared, salt, iterations, hashLength(hash), digestName(hash));
  return { salt, iterations, ...keysFromSalted(hash, salted) };
}

/** Credentials for every supported hash, each with its own salt. */
export function deriveAll(password: string, iterations: number = DEFAULT_ITERATIONS): Record<ScramHash, ScramCredential> {
  return {
    "SHA-1": deriveScram(password, "SHA-1", iterations),
    "SHA-256": deriveScram(password, "SHA-256", iterations),
  };
}

function pickCredential(user: UserRecord | undefined): { hash: ScramHash; cred: ScramCredential } | undefined {
  for (const hash of SCRAM_HASHES) {
    const cred = user?.scram[hash];
    if (cred) return { hash, cred };
  }
  return undefined;
}

// Stands in for a missing account so that checking it costs the same as checking a real one.
const dummySalt = randomBytes(16);
const dummyKey = randomBytes(32);

/**
 * The credential to check a password against, and the PBKDF2 work still owed after it so that
 * every check costs `iterations` (scram_iterations): an unknown account is checked against a
 * dummy with that count, and an account whose credentials predate a raise of scram_iterations
 * makes up the difference, so that neither answers faster than the other. (The SCRAM `i=` of
 * such an old account cannot be changed without its password: see README, scram_iterations.)
 */
function plan(user: UserRecord | undefined, iterations: number): { hash: ScramHash; cred: ScramCredential; dummy: boolean; extra: number } {
  const picked = pickCredential(user);
  if (!picked) return { hash: "SHA-256", cred: { salt: dummySalt, iterations, storedKey: dummyKey, serverKey: dummyKey }, dummy: true, extra: 0 };
  return { ...picked, dummy: false, extra: Math.max(0, iterations - picked.cred.iterations) };
}

function compare(hash: ScramHash, cred: ScramCredential, salted: Buffer): boolean {
  const { storedKey } = keysFromSalted(hash, salted);
  return storedKey.length === cred.storedKey.length && timingSafeEqual(storedKey, cred.storedKey);
}

function prepareOrNull(password: string): string | null {
  try {
    return preparePassword(password, true);
  } catch {
    return null;
  }
}

/** Checks a password against the stored credentials (SHA-256 preferred). Blocks the event loop. */
export function verifyPassword(user: UserRecord | undefined, password: string, iterations: number = DEFAULT_ITERATIONS): boolean {
  const p = plan(user, iterations);
  const prepared = prepareOrNull(password);
  const salted = pbkdf2Sync(prepared ?? password, p.cred.salt, p.cred.iterations, hashLength(p.hash), digestName(p.hash));
  if (p.extra > 0) pbkdf2Sync(password, p.cred.salt, p.extra, hashLength(p.hash), digestName(p.hash));
  return compare(p.hash, p.cred, salted) && prepared !== null && !p.dummy;
}

/**
 * Same as verifyPassword, with PBKDF2 on the libuv thread pool. An undefined user costs the
 * same work; `iterations` is scram_iterations, the work every check is made to cost.
 */
export async function verifyPasswordAsync(user: UserRecord | undefined, password: string, iterations: number = DEFAULT_ITERATIONS): Promise<boolean> {
  const p = plan(user, iterations);
  const prepared = prepareOrNull(password);
  const salted = await pbkdf2Async(prepared ?? password, p.cred.salt, p.cred.iterations, hashLength(p.hash), digestName(p.hash));
  if (p.extra > 0) await pbkdf2Async(password, p.cred.salt, p.extra, hashLength(p.hash), digestName(p.hash));
  return compare(p.hash, p.cred, salted) && prepared !== null && !p.dummy;
}
