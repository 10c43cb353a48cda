// How the account page answers: its HTML with its own Content-Security-Policy (the page's one
// style by hash, its one same-origin script, live updates from the same origin), and the HTTP
// errors of a page's handler (rate limit, body type or size) shown as a page, not as JSON.
import { HttpError, cspHash, sendHtml, type HttpRequest } from "../server.js";
import { httpErrors } from "../../core/errors.js";
import { THROTTLED } from "./auth.js";
import { ACCOUNT_PATH } from "./url.js";
import { STYLE, messagePage } from "./pages.js";

const CSP = `default-src 'none'; style-src ${cspHash(STYLE)}; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export function html(req: HttpRequest, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
  for (const [k, v] of Object.entries(headers)) if (Array.isArray(v)) req.res.setHeader(k, v);
  const single = Object.fromEntries(Object.entries(headers).filter(([, v]) => !Array.isArray(v))) as Record<string, string>;
  // Referrer-Policy same-origin (not no-referrer): browsers then send a real Origin with the forms' POSTs.
  sendHtml(req, status, body, { styles: [STYLE], headers: { "Content-Security-Policy": CSP, "Referrer-Policy": "same-origin", ...single } });
}

export function formExpired(req: HttpRequest): void {
  const e = httpErrors.accountFormExpired;
  html(req, e.status, messagePage(e.title, e.text, `<a href="${ACCOUNT_PATH}">Back to your account</a>`));
}

export function signedOut(req: HttpRequest): void {
  const e = httpErrors.accountSignedOut;
  html(req, e.status, messagePage(e.title, e.text, `<a href="${ACCOUNT_PATH}/login">Sign in</a>`));
}

/** Runs a handler, answering HTTP errors (rate limit, body type or size) as a page. */
export const page =
  (handler: (req: HttpRequest) => Promise<void> | void) =>
  async (req: HttpRequest): Promise<void> => {
    try {
      await handler(req);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      if (err.status === 413) req.res.setHeader("Connection", "close");
      const text = err.status === 429 ? THROTTLED : (err.description ?? err.code);
      html(req, err.status, messagePage(err.status === 429 ? "Too many requests" : "This request cannot be completed", text), err.headers);
    }
  };
