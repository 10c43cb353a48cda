// The token endpoint (RFC 6749 §3.2): authorization code with PKCE (RFC 7636), refresh with
// rotation and reuse detection, and the device grant (RFC 8628 §3.4). Rate-limited per IP;
// failed client authentication counts against the login throttle.
import { createHash } from "node:crypto";
import { HttpError, sendJson, type HttpRequest } from "../server.js";
import { httpErrors } from "../../core/errors.js";
import type { OAuthContext } from "./context.js";
import { authenticateClient, clientInfo, single, DEVICE_GRANT, type Client } from "./clients.js";
import {
  clientIdHash,
  createOAuthGrant,
  issueTokens,
  knownScopes,
  roleOf,
  rotateRefresh,
  touchGrant,
  GRANT_KIND,
  REFRESH_PURPOSE,
  REFRESH_USED_PURPOSE,
  TOKEN_RE,
  type IssuedTokens,
} from "../../auth/oauth-tokens.js";
import { tokenHash } from "../../auth/grants.js";
import { sha256 } from "./state.js";

export const TOKEN_PATH = "/oauth2/token";
const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/;

function withRefresh(client: Client, scopes: string[]): boolean {
  return scopes.includes("offline_access") && client.meta.grant_types.includes("refresh_token");
}

export function tokenRoutes(ctx: OAuthContext): void {
  const { server } = ctx;

  /** The user may still authorise: the account exists and its password has not changed since the login. */
  async function stillValid(username: string, authTime: number): Promise<boolean> {
    const user = await server.storage.users.get(username);
    return !!user && user.passwordChangedAt <= authTime;
  }

  async function authorizationCode(client: Client, params: URLSearchParams): Promise<IssuedTokens> {
    const code = single(params, "code");
    const verifier = single(params, "code_verifier");
    const redirectUri = single(params, "redirect_uri");
    if (!code) throw new HttpError(httpErrors.codeMissing);
    const h = sha256(code);
    const rec = await ctx.state.codes.take(h); // single use, whatever happens next
    if (!rec) {
      const used = await ctx.state.usedCodes.take(h);
      if (used) {
        // RFC 6749 §4.1.2: a code used twice revokes what the first use obtained.
        await server.services.get("access").revokeGrant(used.username, used.grantId, "authorization code reused");
        server.log.warn({ username: used.username, grantId: used.grantId }, "oauth authorization code reused; grant revoked");
      }
      throw new HttpError(httpErrors.codeUnknown);
    }
    if (rec.exp <= Date.now()) throw new HttpError(httpErrors.codeExpired);
    if (rec.clientIdHash !== clientIdHash(client.id)) throw new HttpError(httpErrors.codeOtherClient);
    if ((rec.redirectGiven || redirectUri !== undefined) && redirectUri !== rec.redirectUri) throw new HttpError(httpErrors.redirectUriMismatch);
    if (!verifier) throw new HttpError(httpErrors.pkceVerifierMissing);
    if (!VERIFIER_RE.test(verifier)) throw new HttpError(httpErrors.pkceVerifierMalformed);
    if (createHash("sha256").update(verifier).digest("base64url") !== rec.challenge) throw new HttpError(httpErrors.pkceMismatch);
    if (!(await stillValid(rec.username, rec.authTime))) throw new HttpError(httpErrors.authorizationStale);
    const grant = await createOAuthGrant(server, rec.username, clientInfo(client), rec.scopes);
    await ctx.state.usedCodes.set(h, { username: rec.username, grantId: grant.id, exp: rec.exp });
    return issueTokens(server, grant, rec.scopes, withRefresh(client, rec.scopes));
  }

  async function refresh(client: Client, params: URLSearchParams): Promise<IssuedTokens> {
    const token = single(params, "refresh_token");
    if (!token) throw new HttpError(httpErrors.refreshMissing);
    if (!TOKEN_RE.test(token)) throw new HttpError(httpErrors.refreshInvalid);
    const now = Date.now();
    const hash = tokenHash(token);
    const t = await server.storage.grants.getToken(hash);
    const grant = t && (await server.storage.grants.get(t.username, t.grantId));
    if (!t || !grant || grant.kind !== GRANT_KIND || grant.data.clientIdHash !== clientIdHash(client.id)) throw new HttpError(httpErrors.refreshInvalid);
    const reused = async () => {
      // A rotated refresh token came back: someone holds a copy. The whole grant goes.
      await server.services.get("access").revokeGrant(grant.username, grant.id, "refresh token reused");
      server.log.warn({ username: grant.username, grantId: grant.id }, "oauth refresh token reused; grant revoked");
      return new HttpError(httpErrors.refreshReused);
    };
    if (t.purpose === REFRESH_USED_PURPOSE) throw await reused();
    if (t.purpose !== REFRESH_PURPOSE) throw new HttpError(httpErrors.notRefreshToken);
    if ((t.expiresAt !== undefined && t.expiresAt <= now) || !(await server.services.get("grants").valid(grant, now)))
      throw new HttpError(httpErrors.refreshExpired);
    const granted = knownScopes(grant.data.scopes);
    let scopes = granted;
    const asked = single(params, "scope");
    if (asked !== undefined) {
      scopes = knownScopes(asked);
      if (scopes.some((s) => !granted.includes(s)) || !roleOf(scopes)) throw new HttpError(httpErrors.scopeNotGranted);
    }
    // Rotation, in one transaction: only one request can replace the token; a concurrent second use is a reuse.
    const tokens = await rotateRefresh(server, grant, t, scopes);
    if (!tokens) throw await reused();
    await touchGrant(server, grant, now);
    return tokens;
  }

  async function deviceCode(client: Client, params: URLSearchParams): Promise<IssuedTokens> {
    const code = single(params, "device_code");
    if (!code) throw new HttpError(httpErrors.deviceCodeMissing);
    const h = sha256(code);
    const rec = await ctx.state.devices.get(h);
    if (!rec || rec.clientIdHash !== clientIdHash(client.id)) throw new HttpError(httpErrors.deviceCodeUnknown);
    const now = Date.now();
    if (rec.exp <= now) {
      await ctx.state.devices.delete(h);
      throw new HttpError(httpErrors.deviceCodeExpired);
    }
    if (rec.state === "denied") {
      await ctx.state.devices.delete(h);
      throw new HttpError(httpErrors.accessDenied);
    }
    if (rec.state === "pending") {
      // In one step: of two polls at once one is early, and a consent given meanwhile stays.
      let early = false;
      const polled = await ctx.state.devices.update(h, (r) => {
        if (r.state !== "pending") return r;
        early = r.lastPoll !== undefined && now - r.lastPoll < r.interval * 1000;
        return { ...r, lastPoll: now, interval: early ? r.interval + 5 : r.interval };
      });
      if (early) {
        throw new HttpError(httpErrors.slowDown(polled?.interval ?? rec.interval + 5));
      }
      throw new HttpError(httpErrors.authorizationPending);
    }
    if (!(await ctx.state.devices.take(h))) throw new HttpError(httpErrors.deviceCodeUnknown); // single use: a parallel poll took it
    const username = rec.username!;
    const scopes = rec.grantedScopes!;
    if (!(await stillValid(username, rec.authTime!))) throw new HttpError(httpErrors.authorizationStale);
    const grant = await createOAuthGrant(server, username, clientInfo(client), scopes);
    return issueTokens(server, grant, scopes, withRefresh(client, scopes));
  }

  server.services.get("http").route(
    "POST",
    TOKEN_PATH,
    async (req: HttpRequest) => {
      ctx.limiter.take(`token:${req.ip}`);
      const params = await req.form();
      let client: Client;
      try {
        client = authenticateClient(req, params, ctx.keys);
      } catch (err) {
        if (err instanceof HttpError && err.code === "invalid_client") server.services.get("loginThrottle").fail(req.ip, undefined);
        throw err;
      }
      const grantType = single(params, "grant_type");
      if (!grantType) throw new HttpError(httpErrors.grantTypeMissing);
      const handlers: Record<string, (c: Client, p: URLSearchParams) => Promise<IssuedTokens>> = {
        authorization_code: authorizationCode,
        refresh_token: refresh,
        [DEVICE_GRANT]: deviceCode,
      };
      const handler = handlers[grantType];
      if (!handler) throw new HttpError(httpErrors.grantTypeUnsupported);
      if (!client.meta.grant_types.includes(grantType)) throw new HttpError(httpErrors.grantTypeNotRegistered);
      sendJson(req, 200, await handler(client, params));
    },
    { cors: true },
  );
}
