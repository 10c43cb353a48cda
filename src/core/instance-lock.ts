// One server per data directory: two servers on one database would each keep their own
// sessions, throttles and SM queues, and the second would fight the first for its ports.
//
// The lock is a file (data_path/warden.lock) holding the owner's PID and the start time of that
// process, written under a temporary name and hard-linked into place: link(2) fails atomically
// if the lock exists, and nobody ever sees a lock without its content. Node has no flock(2),
// and a lock file must not outlive a `kill -9`: a lock whose process is gone — or whose PID now
// belongs to another process, as after a reboot or in a container, told apart by the process
// start time in /proc — is stale, and is taken over. Written by hand: the npm lock-file packages (proper-lockfile & co.) judge
// staleness by mtime, which would either hold a restart back or need a heartbeat.
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LockOwner {
  pid: number;
  started?: string;
}

export class InstanceLockedError extends Error {
  constructor(
    readonly path: string,
    readonly owner: LockOwner,
  ) {
    super(`Warden is already running on this data directory (PID ${owner.pid}, lock file ${path})`);
    this.name = "InstanceLockedError";
  }
}

/** The start time of a process (field 22 of /proc/PID/stat, clock ticks since boot); undefined off Linux. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function alive(owner: LockOwner): boolean {
  if (owner.pid === process.pid) return false; // our own PID, left by an earlier life of this PID
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false; // ESRCH: no such process
  }
  // Alive: but is it still the process that wrote the lock?
  const now = startTimeOf(owner.pid);
  return owner.started === undefined || now === undefined || now === owner.started;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const rec = JSON.parse(readFileSync(path, "utf8")) as Partial<LockOwner>;
    return typeof rec.pid === "number" && Number.isInteger(rec.pid) && rec.pid > 0 ? { pid: rec.pid, started: rec.started } : undefined;
  } catch {
    return undefined; // unreadable or damaged: stale
  }
}

/**
 * Takes the data directory's lock, or throws InstanceLockedError naming the process holding it.
 * Returns the function that gives it back (also called on process exit).
 */
export function lockDataDir(dataPath: string): () => void {
  const path = join(dataPath, "warden.lock");
  const me: LockOwner = { pid: process.pid, started: startTimeOf(process.pid) };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(me) + "\n", { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
        const owner = readOwner(path);
        if (owner && alive(owner)) throw new InstanceLockedError(path, owner);
        try {
          unlinkSync(path);
        } catch {
          /* another starter removed it first; try again */
        }
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    // Only our own lock: never remove one a later server took after we were thought gone.
    if (readOwner(path)?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        /* gone already */
      }
    }
  };
  process.once("exit", release);
  return release;
}
