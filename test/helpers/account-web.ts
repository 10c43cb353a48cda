// A scriptless browser for the account page tests: a cookie jar, GETs and form POSTs with
// redirects left to the test, and the bits of the page the tests read (CSRF tokens, rows).
import assert from "node:assert/strict";

export interface WebResponse {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  cookies: string[];
}

export class WebClient {
  readonly jar = new Map<string, string>();

  constructor(
    readonly base: string,
    readonly userAgent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
  ) {}

  private cookieHeader(): string | undefined {
    return this.jar.size === 0 ? undefined : [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private remember(res: Response): string[] {
    const set = res.headers.getSetCookie();
    for (const c of set) {
      const [pair, ...attrs] = c.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim(),
        value = pair!.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return set;
  }

  async request(
    method: string,
    path: string,
    opts: { form?: Record<string, string | string[]>; headers?: Record<string, string>; body?: string } = {},
  ): Promise<WebResponse> {
    const headers: Record<string, string> = { "user-agent": this.userAgent, ...(opts.headers ?? {}) };
    const cookie = this.cookieHeader();
    if (cookie && !("cookie" in headers)) headers.cookie = cookie;
    let body: string | undefined = opts.body;
    if (opts.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
      body = p.toString();
      headers["content-type"] ??= "application/x-www-form-urlencoded";
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: "manual" });
    const cookies = this.remember(res);
    return { status: res.status, headers: res.headers, text: await res.text(), location: res.headers.get("location"), cookies };
  }

  get(path: string, headers?: Record<string, string>): Promise<WebResponse> {
    return this.request("GET", path, { headers });
  }

  post(path: string, form: Record<string, string | string[]>, headers?: Record<string, string>): Promise<WebResponse> {
    return this.request("POST", path, { form, headers });
  }

  /** Signs in through the form; asserts success (303 to /account). */
  async signIn(username: string, password: string): Promise<WebResponse> {
    const form = await this.get("/account/login");
    assert.equal(form.status, 200, form.text);
    const r = await this.post("/account/login", { csrf: csrfOf(form.text), username, password });
    assert.equal(r.status, 303, `sign-in as ${username} failed: ${r.status} ${r.text}`);
    assert.equal(r.location, "/account");
    return r;
  }

  /** GET /account, asserting the page (not a redirect to the sign-in form). */
  async account(): Promise<string> {
    const r = await this.get("/account");
    assert.equal(r.status, 200, `GET /account: ${r.status} ${r.location ?? ""}`);
    return r.text;
  }
}

export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  assert.ok(m, `no CSRF field in ${html.slice(0, 500)}`);
  return m[1]!;
}

/** The <tr> of the clients table for this selector (client/…, grant/…, web/…), or undefined. */
export function rowOf(html: string, selector: string): string | undefined {
  const attr = selector.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  const i = html.indexOf(`data-client="${attr}"`);
  if (i < 0) return undefined;
  return html.slice(html.lastIndexOf("<tr", i), html.indexOf("</tr>", i) + 5);
}

/** Every selector listed in the clients table, in order. */
export function listed(html: string): string[] {
  return [...html.matchAll(/data-client="([^"]+)"/g)].map((m) =>
    m[1]!
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, "<")
      .replace(/&amp;/g, "&"),
  );
}

/** A cell of a row by its data-label, tags stripped. */
export function cell(row: string, label: string): string {
  const m = new RegExp(`<t[dh][^>]*data-label="${label}"[^>]*>([\\s\\S]*?)</t[dh]>`).exec(row);
  assert.ok(m, `no '${label}' cell in ${row}`);
  return m[1]!
    .replace(/<[^>]+>/g, "")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .trim();
}

/** The flash message of a page, if any. */
export function flashOf(html: string): { kind: string; text: string } | undefined {
  const m = /<div class="flash (ok|error)" role="[a-z]+">([\s\S]*?)<\/div>/.exec(html);
  return m
    ? {
        kind: m[1]!,
        text: m[2]!
          .replace(/&#39;/g, "'")
          .replace(/&quot;/g, '"')
          .replace(/&amp;/g, "&"),
      }
    : undefined;
}

/** The rows of the security history as [what, ip] pairs. */
export function historyOf(html: string): Array<{ kind: string; what: string; ip: string }> {
  const table = html.slice(html.indexOf(`id="history-table"`));
  return [...table.matchAll(/<tr data-kind="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => ({
    kind: m[1]!,
    what: cell(m[2]!, "What"),
    ip: cell(m[2]!, "IP address"),
  }));
}
