// The confirmations that ask for the password again (OWASP ASVS 7.5.2): revoking one client
// (or, for a password client without client id, the change of password that keeps it out),
// allowing a revoked client again, and signing out everywhere else.
import { esc, flashBox, newPasswordFields, page, time } from "./layout.js";
import { clientName } from "./clients.js";
import type { ClientRow, RevokedRow } from "./types.js";

function details(r: ClientRow): string {
  const item = (k: string, val: string) => `<dt>${k}</dt><dd>${val}</dd>`;
  return `<dl class="details">${item("Client", clientName(r))}${item("Device", esc(r.device ?? "—"))}${item("Type", esc(r.type))}${item("Signed in with", esc(r.auth.join(", ") || "—"))}${item("Last seen", time(r.lastSeen))}${item("IP address", esc(r.ip ?? "—"))}${item("Connected now", r.connected ? "Yes" : "No")}</dl>`;
}

export function revokePage(v: { row: ClientRow; csrf: string; passwordMinLength: number; error?: string }): string {
  const r = v.row;
  // A password client without a client id comes back with the password (the server cannot
  // tell it from a new client): say so before anything is confirmed, and offer what works.
  if (r.reconnects) {
    return page(
      `Revoke ${r.name}?`,
      `<div class="card narrow">
<h1>This app can sign in again</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
${details(r)}
<div class="flash error" role="note" id="reconnect-warning"><p><strong>This app knows your password and will be able to sign in again.</strong> It signed in with your password and without a client id, so the server cannot tell it apart from a new client: revoking it closes its connections now, but it can reconnect at any time.</p>
<p>To keep it out, change your password: that signs out every other client, app and browser at once. This browser stays signed in.</p></div>
<form method="post" action="/account/reset" aria-describedby="reconnect-warning">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(r.id)}">
<label for="current_password">Your current password</label>
<input type="password" id="current_password" name="current_password" autocomplete="current-password" required autofocus>
${newPasswordFields(v.passwordMinLength)}
<div class="actions"><button class="danger solid" type="submit">Change password and sign out everywhere else</button><a class="button" href="/account">Cancel</a></div>
</form>
<h2>Or only close its connections now</h2>
<form method="post" action="/account/revoke">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(r.id)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions"><button class="danger" type="submit">Revoke (it can sign in again)</button></div>
</form></div>`,
    );
  }
  return page(
    `Revoke ${r.name}?`,
    `<div class="card narrow">
<h1>Revoke access?</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
${details(r)}
<p>Its connections close at once and its tokens stop working.${r.auth.includes("password") ? " It used your password: it cannot sign in again as this client until you allow it again or change the password, but you should change the password anyway if you do not trust the device." : ""}</p>
<form method="post" action="/account/revoke">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(r.id)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<div class="actions"><button class="danger solid" type="submit">Revoke</button><a class="button" href="/account">Cancel</a></div>
</form></div>`,
  );
}

export function allowPage(v: { row: RevokedRow; csrf: string; error?: string }): string {
  const name = `${v.row.name}${v.row.device ? ` on ${v.row.device}` : ""}`;
  return page(
    `Allow ${v.row.name} again?`,
    `<div class="card narrow">
<h1>Allow ${esc(name)} again?</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
<p>You revoked this client on ${time(v.row.revokedAt)}. Since then it is refused, even with your password. Allowing it again lets it sign in with your password (or a new token) as before.</p>
<form method="post" action="/account/allow">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(v.row.id)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<div class="actions"><button class="primary" type="submit">Allow again</button><a class="button" href="/account">Cancel</a></div>
</form></div>`,
  );
}

export function signOutOthersPage(v: { csrf: string; error?: string; connections: number; browsers: number; grants: number }): string {
  return page(
    "Sign out everywhere else?",
    `<div class="card narrow">
<h1>Sign out everywhere else?</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
<p>This closes ${v.connections} XMPP ${v.connections === 1 ? "connection" : "connections"}, signs out ${v.browsers} other ${v.browsers === 1 ? "browser" : "browsers"}, and cancels ${v.grants} ${v.grants === 1 ? "token or app authorization" : "tokens and app authorizations"}. This browser stays signed in.</p>
<p>Clients that remember your password can sign in again. To keep them out, change your password instead.</p>
<form method="post" action="/account/sign-out-others">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<div class="actions"><button class="danger solid" type="submit">Sign out everywhere else</button><a class="button" href="/account">Cancel</a></div>
</form></div>`,
  );
}
