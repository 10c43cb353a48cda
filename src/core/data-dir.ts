// The data directory holds what lets anyone impersonate the server or its users (SCRAM keys in
// the database, the TLS key, secret.key, oauth2.key) and the admin socket, which takes orders
// without a password. So it is the server's user's alone: mode 0700, and nothing in it open to
// the group or to others. A directory made looser (by hand, by an older version that used 0750,
// by a restored backup) is tightened at start, with a warning saying what was changed.
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The permission bits no group member or other user may have on anything in data_path. */
const OPEN_TO_OTHERS = 0o077;
/**
 * What the server keeps directly in data_path. Only these are tightened: data_path may be a
 * directory that holds other things too, and those are not ours to change.
 */
const OURS = /^(?:warden\.(?:sqlite(?:-wal|-shm|-journal)?|sock|lock)|secret\.key|oauth2\.key|certs)$/;

export interface Tightened {
  path: string;
  from: number;
  to: number;
}

/**
 * Makes data_path (0700) if it is missing, and takes group and other bits off it, off the
 * server's files in it and off everything in certs/ (where the generated key lives). Returns
 * what it changed, for a warning; a path it may not change (someone else's) has to === from.
 */
export function secureDataDir(dataPath: string): Tightened[] {
  mkdirSync(dataPath, { recursive: true, mode: 0o700 });
  const changed: Tightened[] = [];
  const tighten = (path: string) => {
    let mode: number;
    try {
      mode = statSync(path).mode & 0o7777;
    } catch {
      return;
    } // gone meanwhile
    if ((mode & OPEN_TO_OTHERS) === 0) return;
    const to = mode & ~OPEN_TO_OTHERS;
    try {
      chmodSync(path, to);
      changed.push({ path, from: mode, to });
    } catch {
      changed.push({ path, from: mode, to: mode });
    }
  };
  tighten(dataPath);
  for (const name of readdirSync(dataPath)) if (OURS.test(name)) tighten(join(dataPath, name));
  const certs = join(dataPath, "certs");
  if (existsSync(certs)) for (const name of readdirSync(certs)) tighten(join(certs, name));
  return changed;
}

/**
 * Files the server creates from now on (SQLite's -wal and -shm, temporary key files, the lock,
 * the admin socket) get no group or other bits, whatever mode the code that makes them asks for.
 */
export function privateUmask(): void {
  process.umask(process.umask() | OPEN_TO_OTHERS);
}

export function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}
