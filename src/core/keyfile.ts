// A 32-byte random key kept in a file of data_path (0600), made on first use. Written to a
// temporary name and renamed, so a crash never leaves half a key behind.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function loadOrCreateKey(dataPath: string, name: string): Buffer {
  const path = join(dataPath, name);
  if (!existsSync(path)) {
    mkdirSync(dataPath, { recursive: true, mode: 0o700 });
    writeFileSync(path + ".tmp", randomBytes(32), { mode: 0o600 });
    renameSync(path + ".tmp", path);
  }
  const key = readFileSync(path);
  if (key.length !== 32) throw new Error(`${path} is not a 32-byte key`);
  return key;
}
