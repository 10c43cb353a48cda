// The account page: what has access (live-updated by live.js), the change of password, the
// security history; and the fragment with the two live tables that live.js fetches after a change.
import { esc, flashBox, newPasswordFields, page } from "./layout.js";
import { clientsTable, revokedTable } from "./clients.js";
import { historyTable } from "./history.js";
import type { AccountView } from "./types.js";

export function accountPage(v: AccountView): string {
  return page(
    `Your account: ${v.jid}`,
    `<header class="top">
<h1>Your account <span class="muted small">${esc(v.jid)}</span></h1>
<form method="post" action="/account/logout"><input type="hidden" name="csrf" value="${esc(v.csrf)}"><button type="submit">Sign out</button></form>
</header>
${flashBox(v.flash)}
<p id="live-status" class="vh" aria-live="polite"></p>
<section id="clients" aria-labelledby="clients-h">
<h2 id="clients-h">Clients and apps</h2>
<p class="muted small">Everything that can use your account: XMPP clients, apps you authorized, and your sign-ins to this page.${v.ipTracking ? "" : " IP addresses are not recorded on this server."} Revoking a client closes its connections at once and cancels its tokens.</p>
${clientsTable(v)}
<div class="actions"><a class="button danger" href="/account/sign-out-others">Sign out everywhere else…</a></div>
${revokedTable(v)}
</section>
<section id="password" aria-labelledby="password-h">
<h2 id="password-h">Change password</h2>
<p class="muted small" id="password-effect">Changing your password signs out every other client and browser, and cancels all tokens and app authorizations given before the change.</p>
<form method="post" action="/account/password" aria-describedby="password-effect">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<label for="current_password">Current password</label>
<input type="password" id="current_password" name="current_password" autocomplete="current-password" required>
${newPasswordFields(v.passwordMinLength)}
<div class="actions"><button class="primary" type="submit">Change password</button></div>
</form>
</section>
<section id="history" aria-labelledby="history-h">
<h2 id="history-h">Security history</h2>
${historyTable(v)}
</section>`,
    { live: true },
  );
}

/** The two live parts of the page, fetched by live.js after a change. */
export function fragment(v: AccountView): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>update</title></head><body>${clientsTable(v)}${historyTable(v)}</body></html>`;
}
