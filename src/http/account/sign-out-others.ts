// Signing out everything else (GET and POST /account/sign-out-others, password asked again):
// every XMPP stream, every token and app grant, every other browser. Clients that remember the
// password can come back; the page says so, and that changing the password keeps them out.
import { redirect } from "../server.js";
import { checkPassword, field } from "./auth.js";
import { ACCOUNT_PATH } from "./url.js";
import { signOutOthersPage } from "./pages.js";
import { VIA, type AccountContext } from "./context.js";
import { html } from "./respond.js";
import { signedInForm, signedInPage } from "./signed-in.js";
import { counts } from "./rows.js";

export function signOutOthersRoutes(ctx: AccountContext): void {
  const { server, sessions, history } = ctx;
  const http = server.services.get("http");

  http.route(
    "GET",
    `${ACCOUNT_PATH}/sign-out-others`,
    signedInPage(ctx, async (req, s) => {
      html(req, 200, signOutOthersPage({ csrf: s.csrf, ...(await counts(ctx, s)) }));
    }),
  );

  http.route(
    "POST",
    `${ACCOUNT_PATH}/sign-out-others`,
    signedInForm(ctx, async (req, params, s) => {
      const check = await checkPassword(server, req.ip, s.username, field(params, "password"), VIA, true);
      if (!check.ok) return html(req, check.status, signOutOthersPage({ csrf: s.csrf, error: check.error, ...(await counts(ctx, s)) }));
      const { connections, grants } = await server.services.get("access").signOutEverywhere(s.username);
      const browsers = sessions.endUser(s.username, "revoked", s);
      await history({ username: s.username, kind: "signed-out-others", ip: req.ip, data: { closed: connections, browsers, grants } });
      s.flash = {
        kind: "ok",
        text: `Signed out everywhere else: ${connections} XMPP ${connections === 1 ? "connection" : "connections"} closed, ${browsers} other ${browsers === 1 ? "browser" : "browsers"} signed out, ${grants} ${grants === 1 ? "token or app authorization" : "tokens and app authorizations"} cancelled. Clients that remember your password can sign in again; change your password to keep them out.`,
      };
      redirect(req, ACCOUNT_PATH);
    }),
  );
}
