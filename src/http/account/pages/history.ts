// The security history table: each stored event said in a sentence.
import { esc, time } from "./layout.js";
import type { SecurityEvent } from "../../../storage/types.js";
import type { AccountView } from "./types.js";

function via(v: unknown): string {
  return v === "account page"
    ? "on the account page"
    : v === "xmpp"
      ? "by an XMPP client"
      : v === "admin"
        ? "by the server administrator"
        : v === "oauth"
          ? "on the app sign-in page"
          : typeof v === "string"
            ? `(${v})`
            : "";
}

function named(d: Record<string, unknown>): string {
  const sw = typeof d.software === "string" ? `“${d.software}”` : typeof d.resource === "string" ? `a client with resource “${d.resource}”` : "a client";
  return typeof d.device === "string" ? `${sw} on “${d.device}”` : sw;
}

export function describeEvent(e: SecurityEvent): string {
  const d = e.data;
  switch (e.kind) {
    case "new-client":
      return `New client: ${named(d)}${typeof d.mechanism === "string" ? `, signed in with ${d.mechanism}` : ""}${d.transport === "websocket" ? " over WebSocket" : ""}`;
    case "new-grant":
      return `App authorized: ${named(d)}`;
    case "client-revoked":
      return `Access revoked: ${d.software || d.device || d.resource ? named(d) : d.grant ? "an app" : "a client"} ${via(d.via)}`.trim();
    case "client-allowed":
      return `Access allowed again: ${d.software || d.device ? named(d) : "a client"} ${via(d.via)}`.trim();
    case "password-changed":
      return `Password changed ${via(d.via)}`.trim();
    case "password-reset":
      return `Password changed and everything else signed out ${via(d.via)}${typeof d.connections === "number" ? ` (connections closed: ${d.connections}; tokens and app authorizations cancelled: ${Number(d.grants ?? 0)})` : ""}`.trim();
    case "login-failed":
      return `${e.count} failed ${e.count === 1 ? "login" : "logins"} ${via(d.via)}${e.count > 1 ? ", the last one" : ""}${e.ip ? ` from ${e.ip}` : ""}`.trim();
    case "account-login":
      return `Signed in to the account page${typeof d.browser === "string" ? ` (${d.browser})` : ""}`;
    case "signed-out-others":
      return `Signed out everywhere else${typeof d.closed === "number" ? ` (${d.closed} connections, ${Number(d.browsers ?? 0)} browsers, ${Number(d.grants ?? 0)} tokens)` : ""}`;
    default:
      return e.kind;
  }
}

export function historyTable(v: AccountView): string {
  const rows = v.events
    .map(
      (e) => `<tr data-kind="${esc(e.kind)}">
<td data-label="When">${e.count > 1 && e.firstAt !== e.at ? `${time(e.firstAt)} to ${time(e.at)}` : time(e.at)}</td>
<td data-label="What">${esc(describeEvent(e))}</td>
<td data-label="IP address">${esc(e.ip ?? "—")}</td></tr>`,
    )
    .join("\n");
  return `<table class="cards" id="history-table">
<caption>Recent security events, newest first (kept ${v.historyDays} days)</caption>
<thead><tr><th scope="col">When</th><th scope="col">What happened</th><th scope="col">IP address</th></tr></thead>
<tbody>
${rows || `<tr><td colspan="3">Nothing yet.</td></tr>`}
</tbody></table>`;
}
