// The tables of what has access: one row per client, app or browser (a semantic table with
// caption and header cells; cards on a phone), and the revoked clients that can be allowed again.
import { createHash } from "node:crypto";
import { esc, time } from "./layout.js";
import type { AccountView, ClientRow } from "./types.js";

/** A stable element id for a row's controls (keeps keyboard focus across live updates). */
function rowId(selector: string): string {
  return "c-" + createHash("sha256").update(selector).digest("hex").slice(0, 16);
}

export function clientName(r: ClientRow): string {
  return `${esc(r.name)}${r.version ? ` <span class="muted">${esc(r.version)}</span>` : ""}${r.current ? ` <span class="badge">This browser</span>` : ""}`;
}

function rowHtml(r: ClientRow, csrf: string): string {
  const id = rowId(r.id);
  const action = r.current
    ? `<form class="inline" method="post" action="/account/logout"><input type="hidden" name="csrf" value="${esc(csrf)}"><button type="submit" id="${id}">Sign out<span class="vh"> of this browser</span></button></form>`
    : `<a class="button danger" id="${id}" href="/account/revoke?id=${esc(encodeURIComponent(r.id))}">Revoke<span class="vh"> ${esc(r.name)}${r.device ? ` on ${esc(r.device)}` : ""}</span>…</a>`;
  return `<tr${r.current ? ` class="current" aria-current="true"` : ""} data-client="${esc(r.id)}">
<th scope="row" data-label="Client">${clientName(r)}${r.holds ? `<div class="small holds">${r.holds.map(esc).join(" · ")}</div>` : ""}</th>
<td data-label="Device">${esc(r.device ?? "—")}</td>
<td data-label="Type">${esc(r.type)}</td>
<td data-label="Signed in with">${esc(r.auth.join(", ") || "—")}</td>
<td data-label="First seen">${time(r.firstSeen)}</td>
<td data-label="Last seen">${time(r.lastSeen)}</td>
<td data-label="IP address">${esc(r.ip ?? "—")}</td>
<td data-label="Expires">${r.expires !== undefined ? time(r.expires) : esc(r.expiresNote ?? "—")}</td>
<td data-label="Connected now" data-connected="${r.connected}">${r.connected ? `<span class="yes">Yes</span>${r.connectedNote ? ` <span class="small">(${esc(r.connectedNote)})</span>` : ""}` : "No"}</td>
<td data-label="Action">${action}</td>
</tr>`;
}

export function clientsTable(v: AccountView): string {
  const body = v.rows.length === 0 ? `<tr><td colspan="10">Nothing has access to your account.</td></tr>` : v.rows.map((r) => rowHtml(r, v.csrf)).join("\n");
  return `<table class="cards" id="clients-table">
<caption>Clients and apps with access to ${esc(v.jid)} (${v.rows.length})</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Device</th><th scope="col">Type</th><th scope="col">Signed in with</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">IP address</th><th scope="col">Expires</th><th scope="col">Connected now</th><th scope="col"><span class="vh">Action</span></th></tr></thead>
<tbody>
${body}
</tbody></table>`;
}

/** Revoked clients that are refused, each with "Allow again" (not live-updated: rare and deliberate). */
export function revokedTable(v: AccountView): string {
  if (!v.revoked || v.revoked.length === 0) return "";
  const rows = v.revoked
    .map(
      (r) => `<tr data-revoked="${esc(r.id)}">
<th scope="row" data-label="Client">${esc(r.name)}${r.device ? ` <span class="muted">on ${esc(r.device)}</span>` : ""}</th>
<td data-label="Revoked">${time(r.revokedAt)}</td>
<td data-label="Last seen">${time(r.lastSeen)}</td>
<td data-label="Action"><a class="button" id="${rowId(r.id)}" href="/account/allow?id=${esc(encodeURIComponent(r.id))}">Allow again<span class="vh"> ${esc(r.name)}</span>…</a></td></tr>`,
    )
    .join("\n");
  return `<table class="cards" id="revoked-table">
<caption>Revoked clients (${v.revoked.length}): they are refused even with your password, until you allow them again or change the password</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Revoked</th><th scope="col">Last seen</th><th scope="col"><span class="vh">Action</span></th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}
