// Changing the password from the account page: POST /account/password (this browser stays
// signed in under a new session id; the access service signs out everything else), and POST
// /account/reset, the change and the sign-out of everything else in one step
// (AccessService.resetPassword), offered where a password client without client id is revoked:
// the one thing that keeps it out.
import { redirect, type HttpRequest } from "../server.js";
import { httpErrors, type HttpPageErrorDef } from "../../core/errors.js";
import { AccountError } from "../../auth/accounts.js";
import type { PasswordContext } from "../../clients/access-service.js";
import { passwordProblem } from "../../auth/password-policy.js";
import { sessionCookie, type BrowserSession } from "./sessions.js";
import { checkPassword, field, type PasswordCheck } from "./auth.js";
import { ACCOUNT_PATH } from "./url.js";
import { accountPage, revokePage } from "./pages.js";
import { VIA, type AccountContext } from "./context.js";
import { html } from "./respond.js";
import { signedInForm } from "./signed-in.js";
import { counts, findRow, view } from "./rows.js";

/** Why the current password was not accepted, as the form says it. */
function refusal(check: PasswordCheck & { ok: false }): HttpPageErrorDef {
  return check.status === 403 ? httpErrors.currentPasswordWrong : { status: check.status, text: check.error };
}

/**
 * Changes the password through the access service (`change`), keeping this browser signed in
 * under a new session id made as the change is stored, before the other sign-ins end; then
 * shows `done`'s text on the account page. A password the store refuses changes nothing.
 */
async function changeKeepingThisBrowser<T>(
  ctx: AccountContext,
  req: HttpRequest,
  s: BrowserSession,
  fail: (e: HttpPageErrorDef) => Promise<void>,
  change: (context: PasswordContext) => Promise<T>,
  done: (result: T) => string,
): Promise<void> {
  let fresh: BrowserSession | undefined;
  const changed = (changedAt: number) => {
    fresh = ctx.sessions.create(s.username, req, changedAt);
    ctx.sessions.end(s, "replaced");
  };
  let result: T;
  try {
    result = await change({ via: VIA, ip: req.ip, changed });
  } catch (err) {
    if (err instanceof AccountError) return fail(httpErrors.passwordNotChanged(err.message));
    throw err;
  }
  if (!fresh) throw new Error("the password changed without a new browser session");
  fresh.flash = { kind: "ok", text: done(result) };
  req.res.setHeader("Set-Cookie", sessionCookie(req, fresh.id));
  redirect(req, ACCOUNT_PATH);
}

export function passwordRoutes(ctx: AccountContext): void {
  const { server, sessions } = ctx;
  const http = server.services.get("http");

  /** The new password of a form, or the reason it is refused. */
  const newPasswordProblem = (params: URLSearchParams): HttpPageErrorDef | undefined => {
    const next = field(params, "new_password") ?? "";
    if (next !== field(params, "confirm_password")) return httpErrors.passwordMismatch;
    const weak = passwordProblem(next, server.config.password_min_length);
    return weak ? httpErrors.passwordRefused(weak) : undefined;
  };

  http.route(
    "POST",
    `${ACCOUNT_PATH}/password`,
    signedInForm(ctx, async (req, params, s) => {
      const fail = async (e: HttpPageErrorDef) => {
        const v = await view(ctx, s);
        v.flash = { kind: "error", text: e.text };
        html(req, e.status, accountPage(v));
      };
      const next = field(params, "new_password") ?? "";
      const problem = newPasswordProblem(params);
      if (problem) return fail(problem);
      const check = await checkPassword(server, req.ip, s.username, field(params, "current_password"), VIA, true);
      if (!check.ok) return fail(refusal(check));
      const before = await counts(ctx, s);
      // The access service ends the XMPP streams, grants and tokens; the other browsers go with "password-changed".
      await changeKeepingThisBrowser(
        ctx,
        req,
        s,
        fail,
        (context) => server.services.get("access").changePassword(s.username, next, context),
        () =>
          `Your password was changed. ${before.connections} XMPP ${before.connections === 1 ? "connection was" : "connections were"} closed and ${before.browsers} other ${before.browsers === 1 ? "browser was" : "browsers were"} signed out; ${before.grants} ${before.grants === 1 ? "token or app authorization" : "tokens and app authorizations"} from before the change no longer ${before.grants === 1 ? "works" : "work"}. Sign in again on your devices with the new password.`,
      );
    }),
  );

  http.route(
    "POST",
    `${ACCOUNT_PATH}/reset`,
    signedInForm(ctx, async (req, params, s) => {
      const fail = async (e: HttpPageErrorDef) => {
        const row = await findRow(ctx, s, field(params, "id"));
        if (row && !row.current)
          return html(req, e.status, revokePage({ row, csrf: s.csrf, passwordMinLength: server.config.password_min_length, error: e.text }));
        const v = await view(ctx, s);
        v.flash = { kind: "error", text: e.text };
        html(req, e.status, accountPage(v));
      };
      const problem = newPasswordProblem(params);
      if (problem) return fail(problem);
      const check = await checkPassword(server, req.ip, s.username, field(params, "current_password"), VIA, true);
      if (!check.ok) return fail(refusal(check));
      const browsers = sessions.ofUser(s.username).filter((b) => b !== s).length;
      await changeKeepingThisBrowser(
        ctx,
        req,
        s,
        fail,
        (context) => server.services.get("access").resetPassword(s.username, field(params, "new_password") ?? "", context),
        (done) =>
          `Your password was changed and everything else was signed out: ${done.connections} XMPP ${done.connections === 1 ? "connection was" : "connections were"} closed, ${browsers} other ${browsers === 1 ? "browser was" : "browsers were"} signed out and ${done.grants} ${done.grants === 1 ? "token or app authorization was" : "tokens and app authorizations were"} cancelled. Sign in again on your own devices with the new password.`,
      );
    }),
  );
}
