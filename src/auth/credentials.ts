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
export function deriveScram(
  password: string,
  hash: ScramHash,
  iterations: number = DEFAULT_ITERATIONS,
  salt: Buffer = randomBytes(16),
): ScramCredential {
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
const dummyCredential: ScramCredential = {
  salt: randomBytes(16),
  iterations: DEFAULT_ITERATIONS,
  storedKey: randomBytes(32),
  serverKey: randomBytes(32),
};

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
export function verifyPassword(user: UserRecord | undefined, password: string): boolean {
  const picked = pickCredential(user) ?? { hash: "SHA-256" as const, cred: dummyCredential };
  const prepared = prepareOrNull(password);
  const salted = pbkdf2Sync(prepared ?? password, picked.cred.salt, picked.cred.iterations, hashLength(picked.hash), digestName(picked.hash));
  return compare(picked.hash, picked.cred, salted) && prepared !== null && picked.cred !== dummyCredential;
}

/** Same as verifyPassword, with PBKDF2 on the libuv thread pool. An undefined user costs the same work. */
export async function verifyPasswordAsync(user: UserRecord | undefined, password: string): Promise<boolean> {
  const picked = pickCredential(user) ?? { hash: "SHA-256" as const, cred: dummyCredential };
  const prepared = prepareOrNull(password);
  const salted = await pbkdf2Async(prepared ?? password, picked.cred.salt, picked.cred.iterations, hashLength(picked.hash), digestName(picked.hash));
  return compare(picked.hash, picked.cred, salted) && prepared !== null && picked.cred !== dummyCredential;
}
