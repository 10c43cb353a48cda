// The device authorization grant (RFC 8628) for apps without a browser: the app gets a device
// code and a short user code; the user opens /oauth2/device on any browser, types the user
// code, signs in and consents; meanwhile the app polls the token endpoint (token.ts).
import { HttpError, sendJson, type HttpRequest } from "../server.js";
import { httpErrors } from "../../core/errors.js";
import type { OAuthContext } from "./context.js";
import { authenticateClient, lookupClient, single, DEVICE_GRANT } from "./clients.js";
import { roleOf, clientIdHash } from "../../auth/oauth-tokens.js";
import { appView, requestedScopes } from "./authorize.js";
import { consentPage, errorPage, loginPage, messagePage, sendPage } from "./pages.js";
import { checkCsrf, checkLogin, csrfFor, makeTicket, readTicket, spendTicket } from "./login.js";
import { formatUserCode, newUserCode, normaliseUserCode, randomCode, sha256, type DeviceRecord } from "./state.js";

export const DEVICE_AUTHORIZATION_PATH = "/oauth2/device_authorization";
export const DEVICE_PATH = "/oauth2/device";

export function deviceRoutes(ctx: OAuthContext): void {
  const { server } = ctx;
  const domain = server.config.domain;

  server.services.get("http").route(
    "POST",
    DEVICE_AUTHORIZATION_PATH,
    async (req) => {
      ctx.limiter.take(`device:${req.ip}`);
      const params = await req.form();
      const client = authenticateClient(req, params, ctx.keys);
      if (!client.meta.grant_types.includes(DEVICE_GRANT)) throw new HttpError(httpErrors.deviceGrantNotRegistered);
      const scopes = requestedScopes(client, single(params, "scope"));
      if (!roleOf(scopes)) throw new HttpError(httpErrors.noAccessScope);
      const deviceCode = randomCode();
      let userCode = newUserCode();
      while (await ctx.state.userCodes.get(userCode)) userCode = newUserCode();
      const ttl = server.config.oauth2_device_code_ttl;
      const exp = Date.now() + ttl * 1000;
      const rec: DeviceRecord = {
        clientId: client.id,
        clientIdHash: clientIdHash(client.id),
        scopes,
        userCode,
        state: "pending",
        interval: server.config.oauth2_device_poll_interval,
        exp,
      };
      const h = sha256(deviceCode);
      await ctx.state.devices.set(h, rec);
      await ctx.state.userCodes.set(userCode, { deviceHash: h, exp });
      const shown = formatUserCode(userCode);
      sendJson(req, 200, {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: `${req.base}${DEVICE_PATH}`,
        verification_uri_complete: `${req.base}${DEVICE_PATH}?user_code=${shown}`,
        expires_in: ttl,
        interval: rec.interval,
      });
    },
    { cors: true },
  );

  const showLogin = (req: HttpRequest, status: number, userCode: string, error?: string, username?: string) => {
    const csrf = csrfFor(ctx, req);
    sendPage(req, status, loginPage({ action: DEVICE_PATH, domain, hidden: { csrf: csrf.field }, userCode, error, username }), [], csrf.headers);
  };

  const pending = async (userCode: string): Promise<{ h: string; rec: DeviceRecord } | undefined> => {
    const entry = await ctx.state.userCodes.get(normaliseUserCode(userCode));
    const rec = entry && (await ctx.state.devices.get(entry.deviceHash));
    if (!entry || !rec || rec.state !== "pending" || rec.exp <= Date.now()) return undefined;
    return { h: entry.deviceHash, rec };
  };

  server.services.get("http").route("GET", DEVICE_PATH, (req) => {
    const code = req.url.searchParams.get("user_code") ?? "";
    showLogin(req, 200, code.length <= 20 ? code : "");
  });

  server.services.get("http").route("POST", DEVICE_PATH, async (req) => {
    ctx.limiter.take(`login:${req.ip}`);
    const params = await req.form();
    const binding = checkCsrf(ctx, req, params);
    if (!binding) return errorPage(req, httpErrors.deviceFormExpired);
    const decision = single(params, "decision");

    if (decision === undefined) {
      const typed = single(params, "user_code") ?? "";
      const username = single(params, "username");
      const found = await pending(typed);
      if (!found) return showLogin(req, httpErrors.deviceUserCodeUnknown.status, typed.slice(0, 20), httpErrors.deviceUserCodeUnknown.text, username);
      const login = await checkLogin(ctx, req, username, single(params, "password"));
      if (!login.ok) return showLogin(req, login.status, typed.slice(0, 20), login.error, username);
      const client = lookupClient(ctx.keys, found.rec.clientId)!;
      const ticket = makeTicket(ctx, "device", login.username, login.authTime, found.h, binding);
      const csrf = csrfFor(ctx, req);
      const page = consentPage({
        action: DEVICE_PATH,
        user: `${login.username}@${domain}`,
        app: appView(client),
        scopes: found.rec.scopes,
        hidden: { ticket, csrf: csrf.field },
      });
      return sendPage(req, 200, page, [], csrf.headers);
    }

    const ticket = readTicket(ctx, single(params, "ticket"), "device", undefined, binding);
    const rec = ticket && (await ctx.state.devices.get(ticket.r));
    if (!ticket || !rec || rec.state !== "pending" || rec.exp <= Date.now() || !(await spendTicket(ctx, ticket)))
      return errorPage(req, httpErrors.deviceRequestExpired);
    const chosen = new Set(params.getAll("scope"));
    const scopes = rec.scopes.filter((s) => chosen.has(s));
    if (decision !== "allow" || !roleOf(scopes)) {
      await ctx.state.devices.update(ticket.r, (r) => ({ ...r, state: "denied" }));
      return sendPage(req, 200, messagePage("Access denied", "The device was not given access. You can close this page."));
    }
    // One step (the ticket is spent, so this is the only answer; a poll meanwhile keeps its count).
    await ctx.state.devices.update(ticket.r, (r) => ({ ...r, state: "approved", username: ticket.u, grantedScopes: scopes, authTime: ticket.at }));
    await ctx.state.userCodes.delete(rec.userCode);
    server.log.info(
      { username: ticket.u, client: lookupClient(ctx.keys, rec.clientId)?.meta.client_name, scopes: scopes.join(" ") },
      "oauth device authorization granted",
    );
    sendPage(req, 200, messagePage("Device connected", "The device now has access to your account. You can close this page and return to it."));
  });
}
