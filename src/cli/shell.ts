// `warden shell …`: admin commands that run inside the running server, over the admin socket.
// The output follows the reference's shell (prosodyctl shell user clients / revoke_client);
// allow_client and reset_password are Warden's own. Exit 0 whenever the requested action
// happened, with anything it could not do as a warning on stderr.
import type { Config } from "../core/config.js";
import { adminSocketPath } from "../core/config.js";
import { adminRequest } from "../admin/client.js";
import type { ClientRow } from "../clients/admin.js";
import { CliError, cliErrors } from "./errors.js";
import { readPassword } from "./password.js";
import { passwordProblem } from "../auth/password-policy.js";
import { oneLine } from "../core/display-text.js";

async function call(cfg: Config, req: Record<string, unknown>): Promise<unknown> {
  const reply = await adminRequest(adminSocketPath(cfg), req);
  if (!reply) throw new CliError("notRunning", `no answer on ${adminSocketPath(cfg)}`);
  if (!reply.ok) {
    const msg = reply.error ?? "";
    if (/not on this server's domain/.test(msg)) throw new CliError("wrongDomain", `Unknown host: ${String(req.jid).split("@")[1] ?? ""}`);
    if (/not a valid account JID/.test(msg)) throw new CliError("badJid", msg);
    if (/no account/.test(msg)) throw new CliError("notFound", msg);
    throw new CliError("admin", msg);
  }
  return reply.result;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Local time: HH:MM:SS within a day of now, else YYYY-MM-DD. */
export function shellDate(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return "";
  const d = new Date(ms);
  if (Math.abs(now - ms) < 86400_000) return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

export function clientsTable(rows: ClientRow[], now = Date.now()): string {
  if (rows.length === 0) return "No clients associated with this account";
  // The reference's columns; "Holds" only when some client holds something (push, uploads, archive sync).
  const holds = rows.some((r) => (r.holds ?? []).length > 0);
  const titles = ["ID", "Software", "First seen", "Last seen", "Expires", "Authentication", ...(holds ? ["Holds"] : [])];
  const right = [false, false, true, true, true, false, false];
  const cells = rows.map((r) =>
    [
      r.id,
      r.software === undefined ? "" : r.version ? `${r.software}/${r.version}` : r.software,
      shellDate(r.firstSeen, now),
      shellDate(r.lastSeen, now),
      shellDate(r.expires, now),
      [...r.auth].sort().join(", "),
      ...(holds ? [(r.holds ?? []).join("; ")] : []),
    ].map(oneLine),
  ); // client-supplied text must not forge rows or send terminal escapes
  const widths = titles.map((t, i) => Math.max(right[i] ? Math.max(t.length + 1, 10) : t.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join(" | ")
      .trimEnd();
  const rule = "-".repeat(widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1));
  return [line(titles), rule, ...cells.map(line), rule, `${rows.length} clients`].join("\n");
}

/** What a revocation could not do, for stderr; undefined when it did everything. */
function revokeWarning(result: string, jid: string): string | undefined {
  const reset = `To keep it out, change the password and sign out everything else: warden shell user reset_password ${jid}`;
  if (result === "can-sign-in-again") {
    return `Password reset required: this client signed in with the password and has no client id, so the server cannot tell it from a new client and it can sign in again. ${reset}`;
  }
  if (result === "password-reset-required")
    return `Password reset required: this client knows the password. It is refused under its client id, but could sign in as another client. ${reset}`;
  return undefined;
}

/** Prints an outcome (message on stdout, warning on stderr; or one JSON object) and returns the exit code. */
function report(json: boolean, out: { result: string; message: string; warning?: string | undefined; [k: string]: unknown }, code: number): number {
  if (out.warning === undefined) delete out.warning;
  if (json) console.log(JSON.stringify(out));
  else {
    console.log(out.message);
    if (out.warning) process.stderr.write(`warning: ${out.warning}\n`);
  }
  return code;
}

export async function shell(cfg: Config, args: string[], json: boolean): Promise<number> {
  const [section, command, jid, selector] = args;
  if (section !== "user") throw new CliError("usage", `unknown shell section '${section ?? ""}'`);
  if (command === "clients") {
    if (!jid) throw new CliError("usage", "user clients needs a JID");
    const rows = (await call(cfg, { op: "clients", jid })) as ClientRow[];
    console.log(json ? JSON.stringify(rows, null, 2) : clientsTable(rows));
    return 0;
  }
  if (command === "revoke_client") {
    if (!jid || !selector) throw new CliError("usage", "user revoke_client needs a JID and a selector (client/…, grant/…, software/…)");
    const { result } = (await call(cfg, { op: "revoke-client", jid, selector })) as { result: string };
    if (result === "not-found") return report(json, { result, message: cliErrors.clientNotFound.text }, cliErrors.clientNotFound.code);
    // The access was revoked: exit 0 (scripts with `set -e` go on), and what it cannot do goes to stderr.
    return report(json, { result, message: "Client access revoked", warning: revokeWarning(result, jid) }, 0);
  }
  if (command === "allow_client") {
    if (!jid || !selector) throw new CliError("usage", "user allow_client needs a JID and a client/… selector");
    const { result } = (await call(cfg, { op: "allow-client", jid, selector })) as { result: string };
    if (result === "not-found") return report(json, { result, message: `${cliErrors.clientNotFound.text} (or not revoked)` }, cliErrors.clientNotFound.code);
    return report(json, { result, message: "Client access allowed again" }, 0);
  }
  if (command === "reset_password") {
    if (!jid) throw new CliError("usage", "user reset_password needs a JID");
    await call(cfg, { op: "status" }); // not running: say so before asking for a password
    const password = await readPassword(true);
    const weak = passwordProblem(password, cfg.password_min_length);
    if (weak) throw new CliError("badPassword", `the password ${weak}`);
    const r = (await call(cfg, { op: "reset-password", jid, password })) as { connections: number; grants: number };
    return report(
      json,
      {
        result: "reset",
        ...r,
        message: `Password changed for ${jid}: ${r.connections} ${r.connections === 1 ? "connection" : "connections"} closed, ${r.grants} ${r.grants === 1 ? "token or app authorization" : "tokens and app authorizations"} cancelled`,
      },
      0,
    );
  }
  throw new CliError("usage", `unknown shell command 'user ${command ?? ""}'`);
}
