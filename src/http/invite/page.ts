// The invite page, GET and POST /invite/<token> (XEP-0401 §4): the landing page an invitation
// URL opens, and its form that registers without an app. An unknown (never issued, used or
// revoked) token is a 404 page, an expired one a 410 page, both saying so plainly. The form
// is CSRF-protected (the account sign-in's cookie HMAC and a same-origin check) and limited
// per IP (oauth2_rate_limit a minute, like every form that takes a password), and registering
// goes through the registration service with its own limits.
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { RateLimiter, sendHtml, type HttpRequest } from "../server.js";
import { findInvite, inviteUri, INVITE_PATH, type InviteState } from "../../auth/invites.js";
import { field, LoginCsrf } from "../account/auth.js";
import { messagePage, STYLE } from "../account/pages/layout.js";
import { platformOf } from "./apps.js";
import { donePage, invitePage, type InviteView } from "./html.js";

export default defineFeature({ name: "invite-page", needs: ["http", "registration", "rateLimits"], setup: invitePageFeature });

const GONE = { unknown: { status: 404, title: "Invitation not found" }, expired: { status: 410, title: "Invitation expired" } } as const;
const GONE_TEXT = {
  unknown: "This invitation does not exist, or it was already used or revoked. Ask whoever invited you for a new one.",
  expired: "This invitation has expired. Ask whoever invited you for a new one.",
} as const;

function invitePageFeature(server: Server): void {
  const http = server.services.get("http");
  const registrar = server.services.get("registration");
  const csrf = new LoginCsrf();
  const limiter = new RateLimiter(server.services.get("rateLimits"), () => server.config.oauth2_rate_limit);
  const send = (req: HttpRequest, status: number, html: string, headers: Record<string, string> = {}) =>
    sendHtml(req, status, html, { styles: [STYLE], headers });

  const lookup = async (req: HttpRequest): Promise<{ token: string; state: InviteState }> => {
    const token = req.url.pathname.slice(INVITE_PATH.length);
    return { token, state: await findInvite(server.storage, token) };
  };

  const show = (req: HttpRequest, status: number, token: string, state: InviteState & { ok: true }, extra: Partial<InviteView> = {}) => {
    const { token: csrfToken, setCookie } = csrf.issue(req);
    const inv = state.invite;
    const view: InviteView = {
      domain: server.config.domain,
      uri: inviteUri(server.config, inv, token),
      expiresAt: inv.expiresAt,
      platform: platformOf(req.header("user-agent")),
      csrf: csrfToken,
      passwordMinLength: server.config.password_min_length,
      ...(inv.kind === "reset" && inv.username ? { account: inv.username } : {}),
      ...(inv.kind === "roster" && inv.username ? { inviter: `${inv.username}@${server.config.domain}` } : {}),
      ...extra,
    };
    send(req, status, invitePage(view), setCookie ? { "Set-Cookie": setCookie } : {});
  };

  const gone = (req: HttpRequest, why: "unknown" | "expired") => send(req, GONE[why].status, messagePage(GONE[why].title, GONE_TEXT[why], ""));

  http.route(
    "GET",
    INVITE_PATH,
    async (req) => {
      const { token, state } = await lookup(req);
      if (!state.ok) return gone(req, state.why);
      show(req, 200, token, state);
    },
    { prefix: true },
  );

  http.route(
    "POST",
    INVITE_PATH,
    async (req) => {
      try {
        limiter.take(`invite:${req.ip}`);
      } catch {
        return send(req, 429, messagePage("Too many requests", "Too many attempts from your address. Wait a minute and try again.", ""), {
          "Retry-After": "60",
        });
      }
      const { token, state } = await lookup(req);
      if (!state.ok) return gone(req, state.why);
      const params = await req.form();
      if (!csrf.check(req, params)) return show(req, 403, token, state, { error: "The form expired or did not come from this page. Please try again." });
      const username = state.invite.kind === "reset" ? state.invite.username : field(params, "username");
      const password = field(params, "new_password");
      const again = field(params, "confirm_password");
      const keep = username !== undefined && state.invite.kind !== "reset" ? { username } : {};
      if (password !== again) return show(req, 400, token, state, { ...keep, error: "The two passwords are different." });
      const result = await registrar.register({ username, password, ip: req.ip, via: "invite page", invite: { invite: state.invite, acceptedAt: Date.now() } });
      if (!result.ok) {
        const status =
          result.error.condition === "conflict" ? 409 : result.error.type === "wait" ? 429 : result.error.condition === "item-not-found" ? 410 : 400;
        return show(req, status, token, state, { ...keep, error: result.text ?? result.error.text ?? "The account could not be created." });
      }
      send(req, 200, donePage(`${result.username}@${server.config.domain}`, result.reset));
    },
    { prefix: true },
  );
}
