// Revoking one client, app or browser from the account page: GET /account/revoke?id= shows a
// confirmation that asks for the password again (OWASP ASVS 7.5.2), POST does it and says
// what it did, including whether the client can come back with the password.
import { redirect } from "../server.js";
import { checkPassword, field } from "./auth.js";
import { ACCOUNT_PATH } from "./url.js";
import { revokePage } from "./pages.js";
import { VIA, type AccountContext } from "./context.js";
import { html } from "./respond.js";
import { signedInForm, signedInPage } from "./signed-in.js";
import { findRow } from "./rows.js";

export function revokeRoutes(ctx: AccountContext): void {
  const { server, sessions, history } = ctx;
  const http = server.services.get("http");

  http.route(
    "GET",
    `${ACCOUNT_PATH}/revoke`,
    signedInPage(ctx, async (req, s) => {
      const row = await findRow(ctx, s, req.url.searchParams.get("id"));
      if (!row || row.current) {
        s.flash = { kind: "error", text: row ? "To end this browser's sign-in, use Sign out." : "That client no longer has access to your account." };
        return redirect(req, ACCOUNT_PATH);
      }
      html(req, 200, revokePage({ row, csrf: s.csrf, passwordMinLength: server.config.password_min_length }));
    }),
  );

  http.route(
    "POST",
    `${ACCOUNT_PATH}/revoke`,
    signedInForm(ctx, async (req, params, s) => {
      const id = field(params, "id");
      const row = await findRow(ctx, s, id);
      if (!row || row.current) {
        s.flash = { kind: "error", text: "That client no longer has access to your account." };
        return redirect(req, ACCOUNT_PATH);
      }
      const check = await checkPassword(server, req.ip, s.username, field(params, "password"), VIA, true);
      if (!check.ok)
        return html(req, check.status, revokePage({ row, csrf: s.csrf, passwordMinLength: server.config.password_min_length, error: check.error }));
      const label = `${row.name}${row.device ? ` on ${row.device}` : ""}`;
      if (row.id.startsWith("web/")) {
        const target = sessions.byHandle(s.username, row.id.slice(4));
        if (target) sessions.end(target, "revoked");
        await history({ username: s.username, kind: "client-revoked", ip: req.ip, data: { software: row.name, via: VIA, browser: true } });
        s.flash = { kind: "ok", text: `${label} was signed out of the account page.` };
        return redirect(req, ACCOUNT_PATH);
      }
      const result = await server.services.get("access").revoke(s.username, row.id, { via: VIA, ip: req.ip });
      s.flash =
        result === "not-found"
          ? { kind: "error", text: "That client no longer has access to your account." }
          : {
              kind: "ok",
              text:
                `Revoked ${label}: its connections were closed and its tokens cancelled.` +
                (result === "password-reset-required"
                  ? " It knew your password: it cannot sign in again as this client unless you allow it again, but change your password if you do not trust the device."
                  : "") +
                (result === "can-sign-in-again"
                  ? " It knows your password and can sign in again: to keep it out, change your password (this signs out everything else)."
                  : ""),
            };
      redirect(req, ACCOUNT_PATH);
    }),
  );
}
