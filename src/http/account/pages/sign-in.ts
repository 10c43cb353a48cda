// The sign-in page: a plain form (username, password, CSRF token) that works without scripts.
import { esc, flashBox, page } from "./layout.js";

export interface LoginView {
  domain: string;
  csrf: string;
  username?: string;
  error?: string;
  notice?: string;
}

export function loginPage(v: LoginView): string {
  return page(
    `Sign in: your ${v.domain} account`,
    `<div class="card narrow">
<h1>Your ${esc(v.domain)} account</h1>
<p>Sign in to see which clients and apps can use your account, to revoke them, and to change your password.</p>
${flashBox(v.error ? { kind: "error", text: v.error } : v.notice ? { kind: "ok", text: v.notice } : undefined)}
<form method="post" action="/account/login">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<label for="username">Username <span class="hint">Your address, like alice@${esc(v.domain)}, or just alice</span></label>
<input type="text" id="username" name="username" value="${esc(v.username ?? "")}" autocomplete="username" autocapitalize="none" spellcheck="false" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form></div>`,
  );
}
