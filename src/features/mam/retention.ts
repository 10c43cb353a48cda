// Retention (Prosody's archive_expires_after): messages older than the setting are deleted at
// start and every hour, in batches of BATCH rows, each its own short transaction with a turn of
// the event loop between, so a purge of millions of rows never stalls message delivery.
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Server } from "../../core/server.js";

const BATCH = 1000;
const EVERY_MS = 3600_000;

export function retention(server: Server): () => void {
  let stopped = false;
  let running = false;
  const purge = async () => {
    const keep = server.config.archive_expires_after;
    if (keep === "never" || running) return;
    running = true;
    try {
      const before = Date.now() - keep * 1000;
      let total = 0;
      for (let n = BATCH; n === BATCH && !stopped; total += n) {
        n = await server.storage.archive.purge(before, BATCH);
        if (n === BATCH) await nextTurn();
      }
      if (total > 0) server.log.info({ deleted: total }, "deleted expired archived messages");
    } finally {
      running = false;
    }
  };
  const run = () => void purge().catch((err: unknown) => server.log.error({ err }, "message archive clean-up failed"));
  const timer = setInterval(run, EVERY_MS);
  timer.unref();
  run();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
