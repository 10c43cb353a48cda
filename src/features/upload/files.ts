// Where uploaded files live: data_path/uploads/<id>, written first to uploads/.partial/ and
// renamed into place once whole, so a reader never sees half a file. The ids are base64url, so
// no client-supplied text ever becomes part of a path (the filename lives only in the database).
// The sweep deletes files that lost their record (expired, account deleted, even by the `warden`
// command while the server was down) and partial files left by a crash.
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomId } from "../../core/random.js";
import type { Server } from "../../core/server.js";

export const ID_RE = /^[A-Za-z0-9_-]{22}$/;
/** A partial file older than this was left by a crash or a dropped connection. */
const PARTIAL_MAX_AGE_MS = 3600_000;

export class UploadFiles {
  readonly dir: string;
  private readonly partials: string;

  constructor(dataPath: string) {
    this.dir = join(dataPath, "uploads");
    this.partials = join(this.dir, ".partial");
  }

  async init(): Promise<void> {
    await mkdir(this.partials, { recursive: true, mode: 0o700 });
  }

  /** The stored file of an upload id (checked by ID_RE first: never a client's text). */
  path(id: string): string {
    if (!ID_RE.test(id)) throw new Error(`bad upload id ${id}`);
    return join(this.dir, id);
  }

  /** A new partial file for an upload. */
  partial(id: string): string {
    if (!ID_RE.test(id)) throw new Error(`bad upload id ${id}`);
    return join(this.partials, `${id}.${randomId(9)}`);
  }

  async remove(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => rm(this.path(id), { force: true })));
  }

  /** Deletes stored files without a record and old partial files; returns how many. */
  async sweep(server: Server, now = Date.now()): Promise<number> {
    const names = (await readdir(this.dir)).filter((n) => ID_RE.test(n));
    const kept = await server.storage.uploads.existing(names);
    const orphans = names.filter((n) => !kept.has(n));
    await this.remove(orphans);
    let n = orphans.length;
    for (const name of await readdir(this.partials)) {
      const p = join(this.partials, name);
      const st = await stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > PARTIAL_MAX_AGE_MS) {
        await rm(p, { force: true });
        n++;
      }
    }
    return n;
  }
}
