// `warden start`: the server as a daemon. Signals, as operators expect them:
//   SIGTERM, SIGINT  stop cleanly (Server.stop: <system-shutdown/> to every stream, SM queues to
//                    offline storage, the database closed) and exit 0; if that takes longer than
//                    STOP_DEADLINE_MS, or a second signal comes, exit at once (code 1).
//   SIGHUP           reload the configuration and the certificate (src/core/reload.ts).
// A start that fails half-way closes whatever it opened (ports, the lock) before exiting.
import { adminSocketPath, type Config } from "../core/config.js";
import { CertificateError } from "../core/certificate-check.js";
import { InstanceLockedError } from "../core/instance-lock.js";
import { CliError } from "./errors.js";

/** The whole clean stop must fit in this; 10 s is what service managers commonly give before SIGKILL. */
const STOP_DEADLINE_MS = 9_000;
/**
 * A repeat of the signal sooner than this is the same request, not a second one: Ctrl-C in a
 * terminal reaches the server twice, once from the terminal and once forwarded by `npm start`.
 */
const SAME_SIGNAL_MS = 300;

export async function start(cfg: Config, configPath: string | undefined): Promise<void> {
  // Loaded here, not at the top: the account commands should not pay for the whole server.
  const { composeServer } = await import("../app/compose.js");
  const { startAdminSocket } = await import("../admin/socket.js");
  const { reload } = await import("../core/reload.js");
  const { createLogger, reopenLogFile } = await import("../core/logger.js");
  let server: Awaited<ReturnType<typeof composeServer>>;
  try {
    server = composeServer(cfg, createLogger(cfg));
  } catch (err) {
    // A feature list whose declarations cannot be met: nothing was opened yet.
    throw new CliError("startFailed", (err as Error).message);
  }
  let stopAdmin: (() => Promise<void>) | undefined;
  try {
    await server.start();
    stopAdmin = await startAdminSocket(server, adminSocketPath(cfg));
  } catch (err) {
    // Nothing may stay open: a failed start that kept its ports would look like a running server.
    await stopAdmin?.().catch(() => {});
    await server.stop().catch(() => {});
    if (err instanceof InstanceLockedError) throw new CliError("alreadyRunning", err.message);
    if (err instanceof CertificateError) throw new CliError("certificate", err.message);
    throw new CliError("startFailed", (err as Error).message);
  }
  server.log.info({ domain: cfg.domain, data_path: cfg.data_path, admin_socket: adminSocketPath(cfg), pid: process.pid }, "Warden is ready");

  let stopping = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (Date.now() - stopping < SAME_SIGNAL_MS) return;
      server.log.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    stopping = Date.now();
    server.log.info({ signal }, "shutting down");
    // Kept referenced: should a stop step wait on something that can never happen, the process
    // says so and exits 1 here, instead of ending silently once nothing else is left to run.
    setTimeout(() => {
      server.log.error("shutdown took too long: exiting at once");
      process.exit(1);
    }, STOP_DEADLINE_MS);
    void (async () => {
      try {
        // Not waiting on an admin client that keeps its connection open.
        await Promise.race([stopAdmin?.(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
        await server.stop();
        server.log.info("stopped");
        process.exit(0);
      } catch (err) {
        server.log.error({ err }, "shutdown failed");
        process.exit(1);
      }
    })();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  let reloading: Promise<unknown> | undefined;
  process.on("SIGHUP", () => {
    if (stopping) return;
    server.log.info({ signal: "SIGHUP" }, "reloading configuration and certificate");
    // logrotate moves the file, then sends SIGHUP: write to a new file under the configured name.
    if (cfg.log_file) {
      reopenLogFile();
      server.log.info({ log_file: cfg.log_file }, "log file reopened");
    }
    // One reload at a time; a SIGHUP during one starts another after it (the file may have changed again).
    reloading = (reloading ?? Promise.resolve()).then(() => reload(server, configPath));
  });
}
