// Every way a password reaches the server, as one interface for the brute-force and enumeration
// tests: legacy SASL (PLAIN, SCRAM-SHA-1, SCRAM-SHA-256) and SASL2 (PLAIN, SCRAM-SHA-256) over
// STARTTLS, SASL2 over WebSocket, the account page's sign-in form and the OAuth login form. Each
// attempt is a fresh connection or browser; the answer is reduced to what a guesser sees (the
// element or status and its condition and text) and how long the server took to give it.
import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { RawClient } from "./raw-client.js";
import { NS_SASL, NS_STREAM, elementsOf, parseServerOutput, type XmlEl } from "./xml.js";
import { NS_SASL2, authenticateXml, plainInitialResponse, sasl2Stream, sasl2Result } from "./sasl2-client.js";
import { rawWs, WS_OPEN } from "./raw-ws.js";
import type { TestServer } from "./server.js";

export interface Answer {
  /** "success", or e.g. "failure/temporary-auth-failure/Too many…", or "http 429/Too many…". */
  outcome: string;
  /** Milliseconds from sending the credentials to the answer. */
  ms: number;
  /** SCRAM only: the server-first message's salt and iterations, when one came. */
  scram?: { salt: string; iterations: number };
}

export interface AttemptOptions {
  /** An X-Forwarded-For header to send (HTTP paths only); from a peer that is not a trusted proxy it must change nothing. */
  xff?: string;
}

export interface LoginPath {
  name: string;
  /** Whether this path answers over HTTP (status codes) rather than SASL. */
  web: boolean;
  /** Whether this path uses a SCRAM exchange (salt and iterations visible). */
  scram: boolean;
  attempt(user: string, password: string, opts?: AttemptOptions): Promise<Answer>;
}

type Hash = "SHA-1" | "SHA-256";
const alg = (h: Hash) => (h === "SHA-1" ? "sha1" : "sha256");
const hlen = (h: Hash) => (h === "SHA-1" ? 20 : 32);

function saslOutcome(el: XmlEl): string {
  if (el.name === "success") return "success";
  const cond = el.children.find((c) => c.ns === NS_SASL && c.name !== "text")?.name ?? "?";
  const text = el.children.find((c) => c.name === "text")?.text ?? "";
  return `failure/${cond}/${text}`;
}

/** The SCRAM client, up to the server's final answer; works for legacy SASL and SASL2 (`ns`). */
async function scramExchange(
  send: (xml: string) => void,
  next: () => Promise<XmlEl>,
  ns: string,
  user: string,
  password: string,
  hash: Hash,
): Promise<{ result: XmlEl; scram?: Answer["scram"] }> {
  const cnonce = randomBytes(18).toString("base64");
  const gs2 = "n,,";
  const bare = `n=${user},r=${cnonce}`;
  const first = Buffer.from(gs2 + bare).toString("base64");
  send(ns === NS_SASL ? `<auth xmlns='${NS_SASL}' mechanism='SCRAM-${hash}'>${first}</auth>` : authenticateXml(`SCRAM-${hash}`, { raw: first }));
  const challenge = await next();
  if (challenge.name !== "challenge") return { result: challenge };
  const serverFirst = Buffer.from(challenge.text, "base64").toString();
  const attrs = Object.fromEntries(serverFirst.split(",").map((p) => [p[0]!, p.slice(2)] as const));
  assert.ok(attrs.r?.startsWith(cnonce) && attrs.s && attrs.i, `bad server-first message: ${serverFirst}`);
  const scram = { salt: attrs.s, iterations: Number(attrs.i) };
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s, "base64"), Number(attrs.i), hlen(hash), alg(hash));
  const clientKey = createHmac(alg(hash), salted).update("Client Key").digest();
  const storedKey = createHash(alg(hash)).update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2).toString("base64")},r=${attrs.r}`;
  const signature = createHmac(alg(hash), storedKey).update(`${bare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  send(`<response xmlns='${ns}'>${Buffer.from(`${withoutProof},p=${proof.toString("base64")}`).toString("base64")}</response>`);
  return { result: await next(), scram };
}

/** A STARTTLS stream with its features read, ready for legacy <auth/>. */
async function legacyStream(server: TestServer): Promise<RawClient> {
  const c = await RawClient.connect(server.c2sPort);
  await c.startTls();
  c.openStream();
  await c.waitUntil(
    (t) => parseServerOutput(t).some((i) => i.kind === "element" && i.el.name === "features" && i.el.ns === NS_STREAM) || undefined,
    "the features",
  );
  c.clear();
  return c;
}

/** The next SASL element in `ns` after what was already taken (the buffer is cleared as it goes). */
function nextSasl(c: RawClient, ns: string): () => Promise<XmlEl> {
  return async () => {
    const el = await c.waitUntil(
      (t) =>
        parseServerOutput(t).flatMap((i) =>
          i.kind === "element" && i.el.ns === ns && ["challenge", "success", "failure"].includes(i.el.name) ? [i.el] : [],
        )[0],
      "a SASL answer",
      20_000,
    );
    c.clear();
    return el;
  };
}

function legacyPlain(server: TestServer): LoginPath {
  return {
    name: "legacy SASL PLAIN",
    web: false,
    scram: false,
    async attempt(user, password) {
      const c = await legacyStream(server);
      try {
        const t0 = performance.now();
        c.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainInitialResponse(user, password).toString("base64")}</auth>`);
        const el = await nextSasl(c, NS_SASL)();
        return { outcome: saslOutcome(el), ms: performance.now() - t0 };
      } finally {
        c.close();
      }
    },
  };
}

function legacyScram(server: TestServer, hash: Hash): LoginPath {
  return {
    name: `legacy SASL SCRAM-${hash}`,
    web: false,
    scram: true,
    async attempt(user, password) {
      const c = await legacyStream(server);
      try {
        const t0 = performance.now();
        const { result, scram } = await scramExchange((x) => c.send(x), nextSasl(c, NS_SASL), NS_SASL, user, password, hash);
        return { outcome: saslOutcome(result), ms: performance.now() - t0, scram };
      } finally {
        c.close();
      }
    },
  };
}

function sasl2Plain(server: TestServer): LoginPath {
  return {
    name: "SASL2 PLAIN",
    web: false,
    scram: false,
    async attempt(user, password) {
      const { c } = await sasl2Stream(server.c2sPort);
      try {
        const t0 = performance.now();
        c.send(authenticateXml("PLAIN", plainInitialResponse(user, password), { userAgent: { id: "brute-force-test", software: "Guesser" } }));
        const el = await sasl2Result(c, 20_000);
        return { outcome: saslOutcome(el), ms: performance.now() - t0 };
      } finally {
        c.close();
      }
    },
  };
}

function sasl2Scram(server: TestServer): LoginPath {
  return {
    name: "SASL2 SCRAM-SHA-256",
    web: false,
    scram: true,
    async attempt(user, password) {
      const { c } = await sasl2Stream(server.c2sPort);
      try {
        const t0 = performance.now();
        const { result, scram } = await scramExchange((x) => c.send(x), nextSasl(c, NS_SASL2), NS_SASL2, user, password, "SHA-256");
        return { outcome: saslOutcome(result), ms: performance.now() - t0, scram };
      } finally {
        c.close();
      }
    },
  };
}

function websocketPlain(server: TestServer): LoginPath {
  return {
    name: "WebSocket (wss://) SASL2 PLAIN",
    web: false,
    scram: false,
    async attempt(user, password, opts = {}) {
      const ws = await rawWs(`wss://127.0.0.1:${server.httpsPort}/xmpp-websocket`, opts.xff ? { "X-Forwarded-For": opts.xff } : {});
      try {
        ws.ws.send(WS_OPEN);
        await ws.next("the features", /<stream:features/);
        const t0 = performance.now();
        ws.ws.send(authenticateXml("PLAIN", plainInitialResponse(user, password)));
        const frame = await ws.next("the SASL2 result", /^<(success|failure) xmlns='urn:xmpp:sasl:2'/, 20_000);
        return { outcome: saslOutcome(elementsOf(frame)[0]!), ms: performance.now() - t0 };
      } finally {
        ws.ws.close();
      }
    },
  };
}

// --- the two HTML forms -----------------------------------------------------------------------

export class Jar {
  private readonly cookies = new Map<string, string>();
  keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const nv = c.split(";")[0]!;
      const eq = nv.indexOf("=");
      this.cookies.set(nv.slice(0, eq).trim(), nv.slice(eq + 1).trim());
    }
  }
  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

export function hiddenFields(html: string): Array<[string, string]> {
  const form = /<form method="post"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  assert.ok(form, `no form in ${html.slice(0, 400)}`);
  const out: Array<[string, string]> = [];
  for (const tag of form[1]!.matchAll(/<input\b([^>]*)>/g)) {
    const attr = (n: string) => new RegExp(`\\b${n}="([^"]*)"`).exec(tag[1]!)?.[1];
    if (attr("type") === "hidden" && attr("name"))
      out.push([
        attr("name")!,
        (attr("value") ?? "")
          .replace(/&amp;/g, "&")
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&lt;/g, "<")
          .replace(/&gt;/g, ">"),
      ]);
  }
  return out;
}

/** The error a form page shows (the OAuth `.error` paragraph or the account page's flash). */
function pageError(html: string): string {
  const m = /<(?:p|div) class="(?:error|flash error)"[^>]*>([\s\S]*?)<\/(?:p|div)>/.exec(html);
  return m ? m[1]!.replace(/<[^>]+>/g, "").trim() : "";
}

export async function postForm(
  url: string,
  jar: Jar,
  fields: Array<[string, string]>,
  headers: Record<string, string>,
): Promise<{ res: Response; html: string; ms: number }> {
  const body = new URLSearchParams(fields);
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    redirect: "manual",
    body,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: jar.header,
      origin: new URL(url).origin,
      "sec-fetch-site": "same-origin",
      ...headers,
    },
  });
  const html = await res.text();
  const ms = performance.now() - t0;
  jar.keep(res);
  return { res, html, ms };
}

function accountLogin(server: TestServer): LoginPath {
  const base = () => `http://127.0.0.1:${server.httpPort}`;
  return {
    name: "account page sign-in (/account/login)",
    web: true,
    scram: false,
    async attempt(user, password, opts = {}) {
      const headers: Record<string, string> = opts.xff ? { "x-forwarded-for": opts.xff } : {};
      const jar = new Jar();
      const form = await fetch(`${base()}/account/login`, { headers });
      jar.keep(form);
      const fields = hiddenFields(await form.text());
      const { res, html, ms } = await postForm(`${base()}/account/login`, jar, [...fields, ["username", user], ["password", password]], headers);
      if (res.status === 303 && res.headers.get("location") === "/account") return { outcome: "success", ms };
      return { outcome: `http ${res.status}/${pageError(html)}`, ms };
    },
  };
}

const REDIRECT = "https://app.example.org/cb";
const registered = new WeakMap<TestServer, Promise<string>>();

function oauthLogin(server: TestServer): LoginPath {
  const base = () => `http://127.0.0.1:${server.httpPort}`;
  const clientId = () => {
    let p = registered.get(server);
    if (!p) {
      p = (async () => {
        const res = await fetch(`${base()}/oauth2/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            client_name: "Guess App",
            client_uri: "https://app.example.org/",
            redirect_uris: [REDIRECT],
            grant_types: ["authorization_code"],
            scope: "xmpp",
          }),
        });
        const body = (await res.json()) as { client_id?: string };
        assert.equal(res.status, 201, JSON.stringify(body));
        return body.client_id!;
      })();
      registered.set(server, p);
    }
    return p;
  };
  return {
    name: "OAuth login form (/oauth2/authorize)",
    web: true,
    scram: false,
    async attempt(user, password, opts = {}) {
      const headers: Record<string, string> = opts.xff ? { "x-forwarded-for": opts.xff } : {};
      const verifier = randomBytes(32).toString("base64url");
      const url = new URL(`${base()}/oauth2/authorize`);
      for (const [k, v] of Object.entries({
        client_id: await clientId(),
        redirect_uri: REDIRECT,
        response_type: "code",
        scope: "xmpp",
        state: "s",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      }))
        url.searchParams.set(k, v);
      const jar = new Jar();
      const page = await fetch(url, { headers });
      jar.keep(page);
      const html = await page.text();
      assert.equal(page.status, 200, html);
      const r = await postForm(`${base()}/oauth2/authorize`, jar, [...hiddenFields(html), ["username", user], ["password", password]], headers);
      // Past the password, the consent form: a form with the decision buttons.
      if (r.res.status === 200 && /name="decision"/.test(r.html)) return { outcome: "success", ms: r.ms };
      return { outcome: `http ${r.res.status}/${pageError(r.html)}`, ms: r.ms };
    },
  };
}

/** Every login path of this server. */
export function loginPaths(server: TestServer): LoginPath[] {
  return [
    legacyPlain(server),
    legacyScram(server, "SHA-1"),
    legacyScram(server, "SHA-256"),
    sasl2Plain(server),
    sasl2Scram(server),
    websocketPlain(server),
    accountLogin(server),
    oauthLogin(server),
  ];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
