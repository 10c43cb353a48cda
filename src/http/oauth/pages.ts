// The HTML of the login and consent pages: plain forms that work in any browser without
// scripts. Everything shown is escaped; the one style block is allowed by its hash in the
// Content-Security-Policy (server.ts sendHtml).
import { SCOPES } from "../../auth/oauth-tokens.js";
import { sendHtml, type HttpRequest } from "../server.js";
import type { HttpPageErrorDef } from "../../core/errors.js";

export const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2129}
main{max-width:30rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}.app{padding:.75rem 1rem;background:#eef2f8;border-radius:6px;margin:1rem 0}
.app b{font-size:1.1rem}.muted{color:#5b6270;font-size:.9rem}.error{color:#a4000f;background:#fde8ea;padding:.5rem 1rem;border-radius:6px}
label{display:block;margin:.75rem 0 .25rem}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit}
ul.scopes{list-style:none;padding:0}ul.scopes li{margin:.5rem 0}button{font:inherit;padding:.5rem 1.25rem;margin:1rem .5rem 0 0;cursor:pointer}
button.primary{background:#2456c8;color:#fff;border:0;border-radius:4px}code{font-size:1.2rem;word-break:break-all}`;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

export interface AppView {
  name: string;
  uri: string;
  softwareId?: string;
  softwareVersion?: string;
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style>${STYLE}</style></head>
<body><main>
${body}
</main></body></html>`;
}

function appBox(app: AppView): string {
  const version = app.softwareVersion ? ` <span class="muted">version ${esc(app.softwareVersion)}</span>` : "";
  return `<div class="app"><b>${esc(app.name)}</b>${version}<br><a href="${esc(app.uri)}" rel="noopener noreferrer" target="_blank">${esc(app.uri)}</a></div>`;
}

function hidden(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join("\n");
}

function scopeList(scopes: string[], checkboxes: boolean): string {
  const items = scopes.map((s) => {
    const text = `<b>${esc(s)}</b>: ${esc(SCOPES[s] ?? s)}`;
    return checkboxes ? `<li><label><input type="checkbox" name="scope" value="${esc(s)}" checked> ${text}</label></li>` : `<li>${text}</li>`;
  });
  return `<ul class="scopes">${items.join("")}</ul>`;
}

export interface LoginView {
  action: string;
  domain: string;
  app?: AppView;
  scopes?: string[];
  hidden: Record<string, string>;
  error?: string;
  username?: string;
  /** The device flow asks for the code shown on the device too. */
  userCode?: string | null;
}

export function loginPage(v: LoginView): string {
  const intro = v.app
    ? `<p>This app asks for access to your account on <b>${esc(v.domain)}</b>:</p>${appBox(v.app)}<p>It asks for:</p>${scopeList(v.scopes ?? [], false)}`
    : `<p>Enter the code your device shows, then sign in to your account on <b>${esc(v.domain)}</b>.</p>`;
  const code =
    v.userCode !== undefined
      ? `<label for="user_code">Code from your device</label><input type="text" id="user_code" name="user_code" value="${esc(v.userCode ?? "")}" autocomplete="off" autocapitalize="characters" required>`
      : "";
  return page(
    `Sign in to ${v.domain}`,
    `<h1>Sign in to ${esc(v.domain)}</h1>
${v.error ? `<p class="error">${esc(v.error)}</p>` : ""}
${intro}
<form method="post" action="${esc(v.action)}">
${hidden(v.hidden)}
${code}
<label for="username">Username</label><input type="text" id="username" name="username" value="${esc(v.username ?? "")}" autocomplete="username" required>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button class="primary" type="submit" name="action" value="login">Sign in</button>
</form>
<p class="muted">Only sign in if you trust this app. You can revoke its access at any time from your XMPP client.</p>`,
  );
}

export interface ConsentView {
  action: string;
  user: string;
  app: AppView;
  scopes: string[];
  hidden: Record<string, string>;
  /** Where the browser goes next (the app's redirect URI host), when there is one. */
  redirectTo?: string;
}

export function consentPage(v: ConsentView): string {
  const target = v.redirectTo ? `<p class="muted">You will then be sent back to <b>${esc(v.redirectTo)}</b>.</p>` : "";
  return page(
    "Allow access?",
    `<h1>Allow access to ${esc(v.user)}?</h1>
${appBox(v.app)}
<form method="post" action="${esc(v.action)}">
${hidden(v.hidden)}
<p>This app will be able to:</p>
${scopeList(v.scopes, true)}
${target}
<button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

export function messagePage(title: string, message: string, extra = ""): string {
  return page(title, `<h1>${esc(title)}</h1><p>${esc(message)}</p>${extra}`);
}

export function codePage(code: string): string {
  return messagePage("Access granted", "Copy this code into the app:", `<p><code>${esc(code)}</code></p>`);
}

export function sendPage(req: HttpRequest, status: number, html: string, formAction: string[] = [], headers: Record<string, string> = {}): void {
  sendHtml(req, status, html, { styles: [STYLE], formAction, headers });
}

/** An error of the catalogue (src/core/errors.ts) shown as a page; `text` when it names something of the request. */
export function errorPage(req: HttpRequest, error: HttpPageErrorDef, text = error.text): void {
  sendPage(req, error.status, messagePage("This request cannot be completed", text));
}
