// The server's logger: pino, one record per line. On a terminal a person reads it, so it is
// text (pino-pretty, one line per record: time, level, message, then the record's fields as
// JSON); anywhere else — a pipe, systemd's journal, a file — it is pino's JSON, which log
// shippers and fail2ban read. `log_format` forces either; `log_file` writes to a file instead
// of standard output. pino-pretty runs in this thread, not as a worker transport, so nothing
// logged just before an exit is lost.
import { pino, type Logger, type DestinationStream } from "pino";
import { PinoPretty } from "pino-pretty";
import type { Config } from "./config.js";

export type LogFormat = "text" | "json";

/** The open log file, if any: reopened after logrotate moved it (reopenLogFile, e.g. on SIGHUP). */
let logFile: ReturnType<typeof pino.destination> | undefined;

/** Reopens log_file under its name, so that a rotated file is let go; nothing without log_file. */
export function reopenLogFile(): boolean {
  if (!logFile) return false;
  logFile.reopen();
  return true;
}

/** The format actually used: `auto` is text on a terminal, JSON elsewhere (a file is not a terminal). */
export function logFormat(cfg: Pick<Config, "log_format" | "log_file">, stdoutIsTty = !!process.stdout.isTTY): LogFormat {
  if (cfg.log_format !== "auto") return cfg.log_format;
  return !cfg.log_file && stdoutIsTty ? "text" : "json";
}

export function createLogger(cfg: Pick<Config, "log_level" | "log_format" | "log_file">): Logger {
  const format = logFormat(cfg);
  // Log files hold account names and addresses: readable by the server's user only.
  logFile = cfg.log_file ? pino.destination({ dest: cfg.log_file, sync: true, mkdir: true, mode: 0o600 }) : undefined;
  const out: DestinationStream = logFile ?? pino.destination({ dest: 1, sync: true });
  if (format === "json") return pino({ level: cfg.log_level }, out);
  const pretty = PinoPretty({
    destination: out,
    sync: true,
    singleLine: true, // one line per event, so grep and fail2ban see the fields beside the message
    colorize: !cfg.log_file && !!process.stdout.isTTY,
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "pid,hostname",
  });
  return pino({ level: cfg.log_level }, pretty);
}
