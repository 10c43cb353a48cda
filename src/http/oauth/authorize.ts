// The authorization endpoint (RFC 6749 §4.1, PKCE S256 required per RFC 7636): GET checks the
// request and shows the login form; POST action=login checks the password and shows the
// consent form; POST decision=allow|deny answers the app at its redirect URI with a
// single-use code (or an error), plus `iss` (RFC 9207).
//
// Until the client and its redirect URI are known to be good, errors are shown to the user and
// never sent anywhere (RFC 6749 §4.1.2.1).
import type { HttpRequest } from "../server.js";
import { HttpError, redirect } from "../server.js";
import { httpErrors, type HttpCodedErrorDef, type HttpPageErrorDef } from "../../core/errors.js";
import type { OAuthContext } from "./context.js";
import { lookupClient, single, OOB_URI, type Client } from "./clients.js";
import { knownScopes, roleOf, clientIdHash } from "../../auth/oauth-tokens.js";
import { consentPage, codePage, errorPage, loginPage, sendPage, type AppView } from "./pages.js";
import { checkCsrf, checkLogin, csrfFor, makeTicket, readTicket, spendTicket } from "./login.js";
import { randomCode, sha256 } from "./state.js";

export const AUTHORIZE_PATH = "/oauth2/authorize";
const REQUEST_TTL_MS = 30 * 60_000;
const CHALLENGE_RE = /^[A-Za-z0-9_-]{43}$/;

/** A checked authorization request, carried signed through the forms. */
interface AuthzRequest {
  clientId: string;
  redirectUri: string;
  redirectGiven: boolean;
  scopes: string[];
  state?: string;
  challenge: string;
  exp: number;
}

/** Shown to the user, never redirected. */
class PageError extends Error {
  constructor(
    readonly def: HttpPageErrorDef,
    text = def.text,
  ) {
    super(text);
  }
}

/** Sent back to the app at its redirect URI (or shown, for an out-of-band client). */
class RedirectError extends Error {
  readonly code: string;
  readonly description: string;
  constructor(readonly def: HttpCodedErrorDef & HttpPageErrorDef) {
    super(def.text);
    this.code = def.code;
    this.description = def.text;
  }
}

export function appView(client: Client): AppView {
  const v: AppView = { name: client.meta.client_name, uri: client.meta.client_uri };
  if (client.meta.software_id) v.softwareId = client.meta.software_id;
  if (client.meta.software_version) v.softwareVersion = client.meta.software_version;
  return v;
}

/** The scopes asked for, limited to those the client registered and those we know. */
export function requestedScopes(client: Client, scope: string | undefined): string[] {
  const allowed = client.meta.scope ? new Set(knownScopes(client.meta.scope)) : undefined;
  return knownScopes(scope ?? client.meta.scope ?? "xmpp").filter((s) => !allowed || allowed.has(s));
}

/** A native app's loopback redirect URI may use any port (RFC 8252 §7.3). */
function matchesRegistered(client: Client, uri: string): boolean {
  if (client.meta.redirect_uris.includes(uri)) return true;
  if (client.meta.application_type !== "native") return false;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  if (u.protocol !== "http:" || !["127.0.0.1", "[::1]", "localhost"].includes(u.hostname)) return false;
  // Only the port may differ: a fragment or credentials were never registered (RFC 6749 §3.1.2).
  if (u.hash || uri.includes("#") || u.username || u.password) return false;
  return client.meta.redirect_uris.some((r) => {
    try {
      const ru = new URL(r);
      return ru.protocol === "http:" && ru.hostname === u.hostname && ru.pathname === u.pathname && ru.search === u.search;
    } catch {
      return false;
    }
  });
}

/** The redirect URI with the response parameters added to its query. */
function responseUrl(redirectUri: string, params: Record<string, string | undefined>): string {
  const u = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.append(k, v);
  return u.href;
}

/** Where the consent form may send the browser (CSP form-action follows redirects). */
function formTarget(redirectUri: string): string[] {
  if (redirectUri === OOB_URI) return [];
  const u = new URL(redirectUri);
  return u.protocol === "http:" || u.protocol === "https:" ? [u.origin] : [u.protocol];
}

function checkRequest(ctx: OAuthContext, params: URLSearchParams): { client: Client; request: AuthzRequest } {
  let client: Client | undefined;
  let redirectUri: string | undefined;
  let redirectGiven = false;
  try {
    client = lookupClient(ctx.keys, single(params, "client_id"));
    if (!client) throw new PageError(httpErrors.authzUnknownClient);
    const given = single(params, "redirect_uri");
    if (given !== undefined) {
      if (!matchesRegistered(client, given)) throw new PageError(httpErrors.authzRedirectUnregistered);
      redirectUri = given;
      redirectGiven = true;
    } else if (client.meta.redirect_uris.length === 1) {
      redirectUri = client.meta.redirect_uris[0]!;
    } else {
      throw new PageError(httpErrors.authzRedirectMissing);
    }
  } catch (err) {
    if (err instanceof HttpError) throw new PageError({ status: 400, text: err.description ?? err.code });
    throw err;
  }
  let state: string | undefined;
  try {
    state = single(params, "state");
    if (!client.meta.grant_types.includes("authorization_code")) throw new RedirectError(httpErrors.authzCodeNotRegistered);
    if (params.has("request") || params.has("request_uri")) throw new RedirectError(httpErrors.requestObject);
    const responseType = single(params, "response_type");
    if (responseType !== "code") throw new RedirectError(httpErrors.responseType);
    const challenge = single(params, "code_challenge");
    const method = single(params, "code_challenge_method");
    if (!challenge) throw new RedirectError(httpErrors.pkceChallengeMissing);
    if (method !== "S256") throw new RedirectError(httpErrors.pkceMethod);
    if (!CHALLENGE_RE.test(challenge)) throw new RedirectError(httpErrors.pkceChallengeMalformed);
    const responseMode = single(params, "response_mode");
    if (responseMode !== undefined && responseMode !== "query") throw new RedirectError(httpErrors.responseMode);
    if (state !== undefined && state.length > 1024) throw new RedirectError(httpErrors.stateTooLong);
    const scopes = requestedScopes(client, single(params, "scope"));
    if (!roleOf(scopes)) throw new RedirectError(httpErrors.noAccessScope);
    const request: AuthzRequest = { clientId: client.id, redirectUri, redirectGiven, scopes, challenge, exp: Date.now() + REQUEST_TTL_MS };
    if (state !== undefined) request.state = state;
    return { client, request };
  } catch (err) {
    // A repeated parameter (clients.ts single): invalid_request at the redirect URI.
    if (err instanceof HttpError)
      throw new RedirectWith(redirectUri, new RedirectError({ status: 400, code: "invalid_request", text: err.description ?? err.code }), state);
    if (err instanceof RedirectError) throw new RedirectWith(redirectUri, err, state);
    throw err;
  }
}

class RedirectWith extends Error {
  constructor(
    readonly redirectUri: string,
    readonly error: RedirectError,
    readonly state: string | undefined,
  ) {
    super(error.message);
  }
}

function answerError(req: HttpRequest, base: string, e: RedirectWith): void {
  if (e.redirectUri === OOB_URI) return errorPage(req, e.error.def, `${e.error.code}: ${e.error.description}`);
  redirect(req, responseUrl(e.redirectUri, { error: e.error.code, error_description: e.error.description, state: e.state, iss: base }));
}

export function authorizeRoutes(ctx: OAuthContext): void {
  const { server } = ctx;
  const domain = server.config.domain;

  const showLogin = (req: HttpRequest, client: Client, signedRequest: string, request: AuthzRequest, status = 200, error?: string, username?: string) => {
    const csrf = csrfFor(ctx, req);
    const view = {
      action: AUTHORIZE_PATH,
      domain,
      app: appView(client),
      scopes: request.scopes,
      hidden: { request: signedRequest, csrf: csrf.field },
      error,
      username,
    };
    sendPage(req, status, loginPage(view), [], csrf.headers);
  };

  server.services.get("http").route("GET", AUTHORIZE_PATH, (req) => {
    try {
      const { client, request } = checkRequest(ctx, req.url.searchParams);
      showLogin(req, client, ctx.keys.sign("authz", request), request);
    } catch (err) {
      if (err instanceof PageError) return errorPage(req, err.def, err.message);
      if (err instanceof RedirectWith) return answerError(req, req.base, err);
      throw err;
    }
  });

  server.services.get("http").route("POST", AUTHORIZE_PATH, async (req) => {
    ctx.limiter.take(`login:${req.ip}`);
    const params = await req.form();
    const binding = checkCsrf(ctx, req, params);
    if (!binding) return errorPage(req, httpErrors.authzFormExpired);
    const signedRequest = params.getAll("request");
    const request = signedRequest.length === 1 ? ctx.keys.verify<AuthzRequest>("authz", signedRequest[0]!) : undefined;
    if (!request || request.exp <= Date.now()) return errorPage(req, httpErrors.authzRequestExpired);
    const client = lookupClient(ctx.keys, request.clientId);
    if (!client) return errorPage(req, httpErrors.authzUnknownClient);
    const ref = sha256(signedRequest[0]!);
    const decision = single(params, "decision");

    if (decision === undefined) {
      const login = await checkLogin(ctx, req, single(params, "username"), single(params, "password"));
      if (!login.ok) return showLogin(req, client, signedRequest[0]!, request, login.status, login.error, single(params, "username"));
      const ticket = makeTicket(ctx, "authorize", login.username, login.authTime, ref, binding);
      const csrf = csrfFor(ctx, req);
      const redirectTo = request.redirectUri === OOB_URI ? undefined : new URL(request.redirectUri).host || new URL(request.redirectUri).protocol;
      const page = consentPage({
        action: AUTHORIZE_PATH,
        user: `${login.username}@${domain}`,
        app: appView(client),
        scopes: request.scopes,
        hidden: { request: signedRequest[0]!, ticket, csrf: csrf.field },
        redirectTo,
      });
      return sendPage(req, 200, page, formTarget(request.redirectUri), csrf.headers);
    }

    const ticket = readTicket(ctx, single(params, "ticket"), "authorize", ref, binding);
    if (!ticket) return errorPage(req, httpErrors.authzSignInExpired);
    if (!(await spendTicket(ctx, ticket))) return errorPage(req, httpErrors.authzAlreadyAnswered);
    const fail = (def: HttpCodedErrorDef & HttpPageErrorDef) =>
      answerError(req, req.base, new RedirectWith(request.redirectUri, new RedirectError(def), request.state));
    if (decision !== "allow") return fail(httpErrors.accessDenied);
    const chosen = new Set(params.getAll("scope"));
    const scopes = request.scopes.filter((s) => chosen.has(s));
    if (!roleOf(scopes)) return fail(httpErrors.noScopeGranted);
    const user = await server.storage.users.get(ticket.u);
    if (!user || user.passwordChangedAt > ticket.at) return errorPage(req, httpErrors.authzSignInStale);
    const code = randomCode();
    await ctx.state.codes.set(sha256(code), {
      clientIdHash: clientIdHash(client.id),
      redirectUri: request.redirectUri,
      redirectGiven: request.redirectGiven,
      challenge: request.challenge,
      username: ticket.u,
      scopes,
      authTime: ticket.at,
      exp: Date.now() + server.config.oauth2_code_ttl * 1000,
    });
    server.log.info({ username: ticket.u, client: client.meta.client_name, scopes: scopes.join(" ") }, "oauth authorization granted");
    if (request.redirectUri === OOB_URI) return sendPage(req, 200, codePage(code));
    redirect(req, responseUrl(request.redirectUri, { code, state: request.state, iss: req.base }));
  });
}
