// Random identifiers for the login path (session and stream ids, nonces, resources), drawn
// from a pooled CSPRNG buffer: one randomFillSync per 4 KiB instead of one per id, as
// crypto.randomUUID does. Secrets that outlive a login (keys, tokens) use randomBytes.
import { randomFillSync } from "node:crypto";

const POOL = Buffer.alloc(4096);
let offset = POOL.length;

export function randomId(bytes: number, encoding: "base64url" | "base64" = "base64url"): string {
  if (offset + bytes > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const s = POOL.toString(encoding, offset, offset + bytes);
  offset += bytes;
  return s;
}
