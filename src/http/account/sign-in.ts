// Signing in to the account page with the account's password (GET and POST /account/login),
// and signing this browser out (POST /account/logout). The sign-in form has its own CSRF
// protection (auth.ts LoginCsrf): there is no session yet to hold a token.
import { redirect, type HttpRequest } from "../server.js";
import { httpErrors } from "../../core/errors.js";
import { clearCookie, cookieName, readCookie, sessionCookie } from "./sessions.js";
import { checkPassword, checkSessionCsrf, field } from "./auth.js";
import { ACCOUNT_PATH } from "./url.js";
import { loginPage } from "./pages.js";
import { VIA, type AccountContext } from "./context.js";
import { formExpired, html, page } from "./respond.js";
import { current } from "./signed-in.js";

export function signInRoutes(ctx: AccountContext): void {
  const { server, sessions, loginCsrf, limiter, history } = ctx;
  const http = server.services.get("http");

  const showLogin = (req: HttpRequest, status: number, extra: { username?: string; error?: string; notice?: string } = {}) => {
    const { token, setCookie } = loginCsrf.issue(req);
    html(req, status, loginPage({ domain: server.config.domain, csrf: token, ...extra }), setCookie ? { "Set-Cookie": setCookie } : {});
  };

  http.route(
    "GET",
    `${ACCOUNT_PATH}/login`,
    page(async (req) => {
      if (await current(ctx, req)) return redirect(req, ACCOUNT_PATH);
      const q = req.url.searchParams;
      const notice = q.has("signed_out") ? "You are signed out." : q.has("ended") ? "Your sign-in has ended. Sign in again to continue." : undefined;
      showLogin(req, 200, notice ? { notice } : {});
    }),
  );

  http.route(
    "POST",
    `${ACCOUNT_PATH}/login`,
    page(async (req) => {
      limiter.take(`account:${req.ip}`);
      const params = await req.form();
      const rawUser = field(params, "username");
      if (!loginCsrf.check(req, params)) {
        const e = httpErrors.accountLoginExpired;
        return showLogin(req, e.status, { username: rawUser, error: e.text });
      }
      const check = await checkPassword(server, req.ip, rawUser, field(params, "password"), VIA);
      if (!check.ok) return showLogin(req, check.status, { username: rawUser, error: check.error });
      // A new session id at every sign-in: an id planted before it (session fixation) is worthless.
      const old = sessions.get(readCookie(req, cookieName(req)));
      if (old) sessions.end(old, "replaced");
      const s = sessions.create(check.username, req);
      req.res.setHeader("Set-Cookie", [sessionCookie(req, s.id), clearCookie(req, loginCsrf.cookieName(req))]);
      await history({ username: s.username, kind: "account-login", ip: req.ip, data: { browser: s.browser } });
      redirect(req, ACCOUNT_PATH);
    }),
  );

  http.route(
    "POST",
    `${ACCOUNT_PATH}/logout`,
    page(async (req) => {
      limiter.take(`account:${req.ip}`);
      const params = await req.form();
      const s = await current(ctx, req);
      if (!s) {
        req.res.setHeader("Set-Cookie", clearCookie(req));
        return redirect(req, `${ACCOUNT_PATH}/login?signed_out=1`);
      }
      if (!checkSessionCsrf(req, params, s.csrf)) return formExpired(req);
      sessions.end(s, "signed-out");
      req.res.setHeader("Set-Cookie", clearCookie(req));
      redirect(req, `${ACCOUNT_PATH}/login?signed_out=1`);
    }),
  );
}
