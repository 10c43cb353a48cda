// The invite page's HTML (XEP-0401 §4's landing page): the apps for the visitor's platform
// first, the xmpp: link that hands the invitation to an app, and a form that creates the
// account (or sets the new password, for a reset invitation) without any app. Everything shown
// is escaped; links out carry no referrer, since the page's own URL holds the token.
import { esc, flashBox, newPasswordFields, page, time } from "../account/pages/layout.js";
import { APPS, type Platform } from "./apps.js";

export interface InviteView {
  domain: string;
  /** For a reset invitation: the account it resets. */
  account?: string;
  /** For a contact invitation (XEP-0379): who becomes the new account's contact. */
  inviter?: string;
  uri: string;
  expiresAt: number;
  platform: Platform;
  csrf: string;
  passwordMinLength: number;
  username?: string;
  error?: string;
}

function appList(platform: Platform): string {
  const order = (Object.keys(APPS) as Array<keyof typeof APPS>).sort((a, b) => Number(b === platform) - Number(a === platform));
  return order
    .map((p) => {
      const group = APPS[p];
      const items = group.apps
        .map(
          (a) =>
            `<li><strong>${esc(a.name)}</strong>: ${a.links.map((l) => `<a href="${esc(l.url)}" rel="noreferrer noopener">${esc(l.label)}</a>`).join(", ")}</li>`,
        )
        .join("");
      const mark = p === platform ? ` <span class="badge">your device</span>` : "";
      return `<h3>${esc(group.title)}${mark}</h3><ul>${items}</ul>`;
    })
    .join("");
}

export function invitePage(v: InviteView): string {
  const reset = v.account !== undefined;
  const title = reset
    ? `Set a new password for ${v.account}@${v.domain}`
    : v.inviter
      ? `${v.inviter} invites you to chat on ${v.domain}`
      : `You are invited to chat on ${v.domain}`;
  const nameField = reset
    ? `<p>Account: <strong>${esc(v.account!)}@${esc(v.domain)}</strong></p>`
    : `<label for="username">Username <span class="hint" id="user-hint">Your address will be username@${esc(v.domain)}</span></label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="1023" aria-describedby="user-hint" required value="${esc(v.username ?? "")}">`;
  return page(
    title,
    `<div class="card narrow"><h1>${esc(title)}</h1>
${v.inviter ? `<p>Your new account and ${esc(v.inviter)} will be contacts, seeing each other online.</p>` : ""}
<p class="muted small">This invitation is valid until ${time(v.expiresAt)} and can be used once.</p>
${flashBox(v.error === undefined ? undefined : { kind: "error", text: v.error })}
<h2>With an app</h2>
<p>Install one of these apps, then open your invitation in it:</p>
<p><a class="button primary" href="${esc(v.uri)}">Open the invitation in your app</a></p>
${appList(v.platform)}
<h2>${reset ? "Here, in this browser" : "Or create your account here"}</h2>
<form method="post">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
${nameField}
${newPasswordFields(v.passwordMinLength)}
<div class="actions"><button class="primary" type="submit">${reset ? "Set the new password" : "Create my account"}</button></div>
</form></div>`,
  );
}

export function donePage(jid: string, reset: boolean): string {
  const title = reset ? "Your new password is set" : "Your account is ready";
  return page(
    title,
    `<div class="card narrow"><h1>${esc(title)}</h1>
<p>Sign in to <strong>${esc(jid)}</strong> from any XMPP app with ${reset ? "your new" : "the"} password.</p>
<p><a class="button primary" href="${esc(`xmpp:${jid}`)}">Open in your app</a></p>
<p><a href="/account">Your account page</a></p></div>`,
  );
}
