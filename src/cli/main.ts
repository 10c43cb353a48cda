#!/usr/bin/env node
// The `warden` command.
import { parseArgs } from "node:util";
import { join } from "node:path";
import { mkdirSync, readFileSync } from "node:fs";
import { loadConfig, adminSocketPath, ConfigError, type Config } from "../core/config.js";
import { adminRequest } from "../admin/client.js";
import { openStorage } from "../storage/index.js";
import { accountName, createAccount, changePassword, deleteAccount, AccountError } from "../auth/accounts.js";
import { readPassword } from "./password.js";
import { CliError } from "./errors.js";
import { start } from "./start.js";
import { passwordProblem } from "../auth/password-policy.js";
import type { Storage } from "../storage/types.js";

const USAGE = `Usage: warden <command> [--config FILE] [--json]

  start                          start the server
  check                          check the configuration, certificate, ports, data directory and DNS
  user add JID                   create an account (password from a prompt or stdin)
  user passwd JID                set an account's password (prompt or stdin)
  user delete JID                delete an account and everything it owns
  user list                      list accounts
  shell user clients JID [--json]            list what has access to an account
  shell user revoke_client JID SELECTOR [--json]  revoke a client, grant or software
  shell user allow_client JID client/ID [--json]  let a revoked client sign in again
  shell user reset_password JID [--json]    new password (prompt or stdin); ends every session, token and grant
  invite create [--reset JID | --contact JID] [--expires 7d]
                                 an invitation (to register, to reset JID's password, or to
                                 register as JID's contact): prints its page's URL and xmpp: URI
  invite list                    list invitations
  invite revoke ID               revoke an invitation
  help, --help, -h               show this help
  version, --version             show the version

The config file is --config FILE, or $WARDEN_CONFIG; without one, the defaults apply.
--json prints listings and results as JSON. Exit codes are listed in the README.`;

/** The version in package.json (two folders up from both src/cli and dist/cli). */
function version(): string {
  return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

/** A new password that the shared policy (src/auth/password-policy.ts) refuses stops here, before any write. */
function acceptable(cfg: Config, password: string): string {
  const problem = passwordProblem(password, cfg.password_min_length);
  if (problem) throw new CliError("badPassword", `the password ${problem}`);
  return password;
}

async function withStorage<T>(cfg: Config, fn: (s: Storage) => Promise<T>): Promise<T> {
  mkdirSync(cfg.data_path, { recursive: true, mode: 0o700 });
  const storage = await openStorage({ backend: "sqlite", path: join(cfg.data_path, "warden.sqlite"), offlineLimit: cfg.offline_message_limit });
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

function name(cfg: Config, jid: string | undefined): string {
  if (!jid) throw new CliError("usage", "a JID is required");
  try {
    return accountName(jid, cfg.domain);
  } catch (err) {
    throw mapAccountError(err);
  }
}

function mapAccountError(err: unknown): unknown {
  if (!(err instanceof AccountError)) return err;
  const map = { "bad-jid": "badJid", "wrong-domain": "wrongDomain", exists: "exists", "not-found": "notFound", "bad-password": "badPassword" } as const;
  return new CliError(map[err.code], err.message);
}

/** Tells a running server about a change; a server that is not running needs no telling. */
async function notify(cfg: Config, req: Record<string, unknown>): Promise<void> {
  const reply = await adminRequest(adminSocketPath(cfg), req).catch(() => undefined);
  if (reply && !reply.ok) process.stderr.write(`warning: the running server did not take the change: ${reply.error}\n`);
}

async function user(cfg: Config, sub: string | undefined, jid: string | undefined, json: boolean): Promise<void> {
  switch (sub) {
    case "add": {
      const u = name(cfg, jid);
      const pw = acceptable(cfg, await readPassword(true));
      await withStorage(cfg, (s) => createAccount(s, u, pw, cfg.scram_iterations)).catch((e) => {
        throw mapAccountError(e);
      });
      console.log(`Created ${u}@${cfg.domain}`);
      return;
    }
    case "passwd": {
      const u = name(cfg, jid);
      const pw = acceptable(cfg, await readPassword(true));
      await withStorage(cfg, (s) => changePassword(s, u, pw, cfg.scram_iterations)).catch((e) => {
        throw mapAccountError(e);
      });
      await notify(cfg, { op: "password-changed", username: u });
      console.log(`Password changed for ${u}@${cfg.domain}`);
      return;
    }
    case "delete": {
      const u = name(cfg, jid);
      await withStorage(cfg, (s) => deleteAccount(s, u)).catch((e) => {
        throw mapAccountError(e);
      });
      await notify(cfg, { op: "user-deleted", username: u });
      console.log(`Deleted ${u}@${cfg.domain}`);
      return;
    }
    case "list": {
      const users = await withStorage(cfg, (s) => s.users.list());
      const jids = users.map((u) => `${u}@${cfg.domain}`);
      if (json) console.log(JSON.stringify(jids));
      else for (const j of jids) console.log(j);
      return;
    }
    default:
      throw new CliError("usage", `unknown user command '${sub ?? ""}'`);
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        reset: { type: "string" },
        contact: { type: "string" },
        expires: { type: "string" },
      },
    });
  } catch (err) {
    throw new CliError("usage", (err as Error).message);
  }
  const [cmd, ...rest] = parsed.positionals;
  if (parsed.values.help || cmd === "help") {
    console.log(USAGE);
    return 0;
  }
  if (parsed.values.version || cmd === "version") {
    console.log(`warden ${version()}`);
    return 0;
  }
  if (!cmd) throw new CliError("usage", "a command is required");
  if (cmd === "check") {
    // Before loadConfig: a configuration that does not load is one of the things check reports.
    const { check } = await import("./check.js");
    return check(parsed.values.config ?? process.env.WARDEN_CONFIG, !!parsed.values.json);
  }
  let cfg: Config;
  try {
    cfg = loadConfig(parsed.values.config ?? process.env.WARDEN_CONFIG);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError("config", err.message);
    throw err;
  }
  switch (cmd) {
    case "start":
      await start(cfg, parsed.values.config ?? process.env.WARDEN_CONFIG);
      return -1;
    case "user":
      await user(cfg, rest[0], rest[1], !!parsed.values.json);
      return 0;
    case "invite": {
      const { invite } = await import("./invite.js");
      const { reset, contact, expires } = parsed.values;
      const opts = {
        json: !!parsed.values.json,
        ...(reset !== undefined ? { reset } : {}),
        ...(contact !== undefined ? { contact } : {}),
        ...(expires !== undefined ? { expires } : {}),
      };
      await invite(
        cfg,
        (fn) => withStorage(cfg, fn),
        (jid) => name(cfg, jid),
        rest[0],
        rest[1],
        opts,
      );
      return 0;
    }
    case "shell": {
      const { shell } = await import("./shell.js");
      return shell(cfg, rest, !!parsed.values.json);
    }
    default:
      throw new CliError("usage", `unknown command '${cmd}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    if (err instanceof CliError) {
      process.stderr.write(`warden: ${err.message}\n`);
      if (err.name_ === "usage") process.stderr.write("Run 'warden --help' for the commands and their arguments.\n");
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`warden: ${(err as Error)?.stack ?? err}\n`);
      process.exitCode = 70;
    }
  },
);
