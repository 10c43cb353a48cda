// OAuth 2.0 for the security tests, by hand over fetch (so that a test can send exactly what
// an attacker would): dynamic registration, PKCE, a scriptless browser that fills the login and
// consent forms (cookies, hidden fields), and the token endpoint.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import type { TestServer } from "./server.js";

export const REDIRECT = "https://app.example.org/callback";

export interface Reg {
  client_id: string;
  client_secret?: string;
  [k: string]: unknown;
}

export function webApp(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_name: name,
    client_uri: "https://app.example.org/",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    scope: "xmpp xmpp:user offline_access",
    ...extra,
  };
}

export async function register(base: string, meta: Record<string, unknown>): Promise<Reg> {
  const res = await fetch(`${base}/oauth2/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(meta) });
  const body = (await res.json()) as Reg;
  assert.equal(res.status, 201, `registration: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export interface Pkce {
  verifier: string;
  challenge: string;
  state: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url"), state: randomBytes(8).toString("hex") };
}

export function authorizationUrl(base: string, reg: Reg, p: Pkce, params: Record<string, string | undefined> = {}): URL {
  const url = new URL(`${base}/oauth2/authorize`);
  const all: Record<string, string | undefined> = {
    client_id: reg.client_id,
    redirect_uri: REDIRECT,
    response_type: "code",
    scope: "xmpp offline_access",
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: "S256",
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

export interface Page {
  status: number;
  html: string;
  location?: string;
  headers: Headers;
  cookies: string[];
}
export interface Form {
  action: string;
  fields: Array<[string, string]>;
}

function unescapeHtml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!);
}

/** The page's (first) form: its action, hidden fields and checked boxes. */
export function formOf(p: Pick<Page, "status" | "html">): Form {
  const m = /<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(p.html);
  assert.ok(m, `no form in the page (status ${p.status}): ${p.html}`);
  const fields: Array<[string, string]> = [];
  for (const tag of m[2]!.matchAll(/<input\b([^>]*)>/g)) {
    const attr = (n: string) => {
      const a = new RegExp(`\\b${n}="([^"]*)"`).exec(tag[1]!);
      return a ? unescapeHtml(a[1]!) : undefined;
    };
    const type = attr("type"),
      name = attr("name"),
      value = attr("value") ?? "";
    if (!name) continue;
    if (type === "hidden" || (type === "checkbox" && /\bchecked\b/.test(tag[1]!))) fields.push([name, value]);
  }
  return { action: unescapeHtml(m[1]!), fields };
}

/** A browser without scripts: a cookie jar; form posts say they come from this origin. */
export class OAuthBrowser {
  readonly cookies = new Map<string, string>();
  constructor(readonly origin: string) {}

  private async page(res: Response): Promise<Page> {
    const cookies = res.headers.getSetCookie();
    for (const c of cookies) {
      const nv = c.split(";")[0]!;
      const eq = nv.indexOf("=");
      this.cookies.set(nv.slice(0, eq).trim(), nv.slice(eq + 1).trim());
    }
    return { status: res.status, html: await res.text(), location: res.headers.get("location") ?? undefined, headers: res.headers, cookies };
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async get(url: string | URL): Promise<Page> {
    return this.page(await fetch(url, { redirect: "manual", headers: { cookie: this.cookieHeader() } }));
  }

  /** Submits a form: its hidden fields and checked boxes, plus `fields` (which replace same-named ones). */
  async submit(form: Form, fields: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<Page> {
    const body = new URLSearchParams();
    for (const [k, v] of form.fields) if (!(k in fields)) body.append(k, v);
    for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one);
    const res = await fetch(new URL(form.action, this.origin), {
      method: "POST",
      redirect: "manual",
      body,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: this.cookieHeader(),
        origin: this.origin,
        "sec-fetch-site": "same-origin",
        ...headers,
      },
    });
    return this.page(res);
  }
}

/** Login form filled in; returns the consent page and the browser. */
export async function toConsent(url: URL, user: string, password: string): Promise<{ browser: OAuthBrowser; consent: Page; login: Page }> {
  const browser = new OAuthBrowser(url.origin);
  const login = await browser.get(url);
  assert.equal(login.status, 200, `login page: ${login.html}`);
  const consent = await browser.submit(formOf(login), { action: "login", username: user, password });
  assert.equal(consent.status, 200, `consent page: ${consent.html}`);
  return { browser, consent, login };
}

/** The code in the redirect to the app (asserting a redirect to REDIRECT). */
export function codeOf(page: Page): string {
  assert.equal(page.status, 303, `expected a redirect to the app: ${page.status} ${page.html}`);
  const loc = new URL(page.location!);
  assert.equal(loc.origin + loc.pathname, REDIRECT, `redirected to ${page.location}`);
  const code = loc.searchParams.get("code");
  assert.ok(code, `no code in ${page.location}`);
  return code;
}

export interface TokenReply {
  status: number;
  body: Record<string, string>;
}

export async function tokenRequest(base: string, reg: Reg, params: Record<string, string>): Promise<TokenReply> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  const body = new URLSearchParams(params);
  if (reg.client_secret)
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(reg.client_id)}:${encodeURIComponent(reg.client_secret)}`).toString("base64")}`;
  else body.set("client_id", reg.client_id);
  const res = await fetch(`${base}/oauth2/token`, { method: "POST", headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

export function exchangeCode(base: string, reg: Reg, code: string, verifier: string): Promise<TokenReply> {
  return tokenRequest(base, reg, { grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier });
}

export function refreshWith(base: string, reg: Reg, refreshToken: string): Promise<TokenReply> {
  return tokenRequest(base, reg, { grant_type: "refresh_token", refresh_token: refreshToken });
}

/** Authorize through the forms and exchange the code: access and refresh token. */
export async function authorize(server: TestServer, reg: Reg, user: string, password: string): Promise<{ access: string; refresh: string }> {
  const base = `http://127.0.0.1:${server.httpPort}`;
  const p = pkce();
  const { browser, consent } = await toConsent(authorizationUrl(base, reg, p), user, password);
  const code = codeOf(await browser.submit(formOf(consent), { decision: "allow" }));
  const t = await exchangeCode(base, reg, code, p.verifier);
  assert.equal(t.status, 200, `token: ${JSON.stringify(t.body)}`);
  assert.ok(t.body.access_token && t.body.refresh_token, `tokens: ${JSON.stringify(t.body)}`);
  return { access: t.body.access_token, refresh: t.body.refresh_token };
}

/** GET /rest/roster with a bearer token: the status. */
export async function restStatus(server: TestServer, token: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/rest/roster`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}
