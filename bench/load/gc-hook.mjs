// Preloaded into the Warden server process by bench/run.ts (NODE_OPTIONS="--expose-gc --import=…"):
// - SIGUSR2 runs a full GC, so that the memory measurement can collect garbage before reading
//   RSS, exactly as it does for the floor server;
// - with WARDEN_BENCH_PROF_DIR set, a V8 CPU profile of the whole run is written there at exit
//   (--cpu-prof is not allowed in NODE_OPTIONS).
// Plain JS: the server runs without a TypeScript loader.
import { Session } from "node:inspector";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

// After the GC, process.memoryUsage() goes to $WARDEN_BENCH_MEM_FILE (JS heap vs the rest).
process.on("SIGUSR2", () => {
  const gc = globalThis.gc;
  if (typeof gc === "function") {
    gc();
    gc();
  }
  const file = process.env.WARDEN_BENCH_MEM_FILE;
  if (file) writeFileSync(file, JSON.stringify(process.memoryUsage()));
});

const dir = process.env.WARDEN_BENCH_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 200 });
  session.post("Profiler.start");
  process.on("exit", () => {
    // Same-thread inspector sessions answer synchronously, so this works inside 'exit'.
    session.post("Profiler.stop", (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `warden-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
