// How HTTP features answer: JSON (errors in the OAuth format {"error", "error_description"}),
// HTML pages with their own Content-Security-Policy (inline styles allowed by hash only), and
// redirects. Nothing is sent twice: a response already under way is left alone.
import { createHash } from "node:crypto";
import type { HttpError } from "../core/errors.js";
import type { HttpRequest } from "./request.js";

export function sendJson(req: HttpRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const res = req.res;
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.writeHead(status);
  res.end(req.method === "HEAD" ? undefined : text);
}

export function sendError(req: HttpRequest, err: HttpError): void {
  const body: Record<string, string> = { error: err.code };
  if (err.description) body.error_description = err.description;
  sendJson(req, err.status, body, err.headers);
}

/** sha256-… source expression of an inline style, for a Content-Security-Policy. */
export function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

export interface HtmlOptions {
  /** Style blocks the page carries inline (allowed by hash). */
  styles?: string[];
  /** Where the page's forms may send the browser (besides 'self'), e.g. an OAuth redirect's origin. */
  formAction?: string[];
  headers?: Record<string, string>;
}

export function sendHtml(req: HttpRequest, status: number, html: string, opts: HtmlOptions = {}): void {
  const res = req.res;
  if (res.headersSent) return;
  const style = opts.styles?.length ? `; style-src ${opts.styles.map(cspHash).join(" ")}` : "";
  const action = ["'self'", ...(opts.formAction ?? [])].join(" ");
  res.setHeader("Content-Security-Policy", `default-src 'none'${style}; form-action ${action}; frame-ancestors 'none'; base-uri 'none'`);
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  for (const [k, v] of Object.entries(opts.headers ?? {})) res.setHeader(k, v);
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(html));
  res.writeHead(status);
  res.end(req.method === "HEAD" ? undefined : html);
}

export function redirect(req: HttpRequest, location: string, status = 303): void {
  const res = req.res;
  if (res.headersSent) return;
  res.setHeader("Location", location);
  res.setHeader("Content-Length", 0);
  res.writeHead(status);
  res.end();
}
