// `warden shell …`: admin commands that run inside the running server, over the admin socket.
// The output follows the reference's shell (prosodyctl shell user clients / revoke_client).
import type { Config } from "../core/config.js";
import { adminSocketPath } from "../core/config.js";
import { adminRequest } from "../admin/client.js";
import type { ClientRow } from "../clients/admin.js";
import { CliError, cliErrors } from "./errors.js";
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
  const titles = ["ID", "Software", "First seen", "Last seen", "Expires", "Authentication"];
  const right = [false, false, true, true, true, false];
  const cells = rows.map((r) => [
    r.id,
    r.software === undefined ? "" : r.version ? `${r.software}/${r.version}` : r.software,
    shellDate(r.firstSeen, now), shellDate(r.lastSeen, now), shellDate(r.expires, now),
    [...r.auth].sort().join(", "),
  ].map(oneLine)); // client-supplied text must not forge rows or send terminal escapes
  const widths = titles.map((t, i) => Math.max(right[i] ? Math.max(t.length + 1, 10) : t.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(" | ").trimEnd();
  const rule = "-".repeat(widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1));
  return [line(titles), rule, ...cells.map(line), rule, `${rows.length} clients`].join("\n");
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
    const outcome = result === "revoked" ? { text: "Client access revoked", code: 0 }
      : result === "not-found" ? { text: cliErrors.clientNotFound.text, code: cliErrors.clientNotFound.code }
      : { text: cliErrors.passwordResetRequired.text, code: cliErrors.passwordResetRequired.code };
    console.log(json ? JSON.stringify({ result, message: outcome.text }) : outcome.text);
    return outcome.code;
  }
  throw new CliError("usage", `unknown shell command 'user ${command ?? ""}'`);
}
