// Allowing a revoked client again (AccessService.allow): GET /account/allow?id= shows a
// confirmation that asks for the password again, POST does it.
import { redirect } from "../server.js";
import { checkPassword, field } from "./auth.js";
import { ACCOUNT_PATH } from "./url.js";
import { allowPage } from "./pages.js";
import { VIA, type AccountContext } from "./context.js";
import { html } from "./respond.js";
import { signedInForm, signedInPage } from "./signed-in.js";
import { findRevoked } from "./rows.js";

export function allowRoutes(ctx: AccountContext): void {
  const { server } = ctx;
  const http = server.services.get("http");

  http.route(
    "GET",
    `${ACCOUNT_PATH}/allow`,
    signedInPage(ctx, async (req, s) => {
      const row = await findRevoked(ctx, s, req.url.searchParams.get("id"));
      if (!row) {
        s.flash = { kind: "error", text: "That client is not revoked." };
        return redirect(req, ACCOUNT_PATH);
      }
      html(req, 200, allowPage({ row, csrf: s.csrf }));
    }),
  );

  http.route(
    "POST",
    `${ACCOUNT_PATH}/allow`,
    signedInForm(ctx, async (req, params, s) => {
      const row = await findRevoked(ctx, s, field(params, "id"));
      if (!row) {
        s.flash = { kind: "error", text: "That client is not revoked." };
        return redirect(req, ACCOUNT_PATH);
      }
      const check = await checkPassword(server, req.ip, s.username, field(params, "password"), VIA, true);
      if (!check.ok) return html(req, check.status, allowPage({ row, csrf: s.csrf, error: check.error }));
      const result = await server.services.get("access").allow(s.username, row.id, { via: VIA, ip: req.ip });
      s.flash =
        result === "allowed"
          ? { kind: "ok", text: `${row.name}${row.device ? ` on ${row.device}` : ""} may sign in again.` }
          : { kind: "error", text: "That client is not revoked." };
      redirect(req, ACCOUNT_PATH);
    }),
  );
}
