// Who is signed in on a request: the browser session of its cookie, as long as the account
// still exists and its password has not changed since the sign-in; and the forms of signed-in
// pages, which are rate-limited and must carry the session's CSRF token.
import { redirect, type HttpRequest } from "../server.js";
import { ACCOUNT_PATH } from "./url.js";
import { cookieName, readCookie, type BrowserSession } from "./sessions.js";
import { checkSessionCsrf } from "./auth.js";
import type { AccountContext } from "./context.js";
import { formExpired, page, signedOut } from "./respond.js";

export async function current(ctx: AccountContext, req: HttpRequest): Promise<BrowserSession | undefined> {
  const { server, sessions } = ctx;
  const s = sessions.get(readCookie(req, cookieName(req)));
  if (!s) return undefined;
  const user = await server.storage.users.get(s.username);
  if (!user || user.passwordChangedAt > s.authAt) {
    sessions.end(s, user ? "password-changed" : "revoked");
    return undefined;
  }
  return s;
}

/** A request by the user (not by live updates): the session's last use and address. */
export function touch(s: BrowserSession, req: HttpRequest): void {
  s.lastSeen = Date.now();
  s.ip = req.ip;
}

/** A page for the signed-in user: without a sign-in, the sign-in form instead. */
export const signedInPage = (ctx: AccountContext, handler: (req: HttpRequest, s: BrowserSession) => Promise<void>) =>
  page(async (req) => {
    const s = await current(ctx, req);
    if (!s) return redirect(req, `${ACCOUNT_PATH}/login`);
    touch(s, req);
    await handler(req, s);
  });

/** A form of a signed-in page: rate-limited, then the browser session and its CSRF token checked. */
export const signedInForm = (ctx: AccountContext, handler: (req: HttpRequest, params: URLSearchParams, s: BrowserSession) => Promise<void>) =>
  page(async (req) => {
    ctx.limiter.take(`account:${req.ip}`);
    const params = await req.form();
    const s = await current(ctx, req);
    if (!s) return signedOut(req);
    if (!checkSessionCsrf(req, params, s.csrf)) return formExpired(req);
    touch(s, req);
    await handler(req, params, s);
  });
