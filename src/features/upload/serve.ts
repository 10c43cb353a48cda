// Serving a stored file (XEP-0363 §5: GET to whoever has the URL) so that it can never act as
// a page of Warden's origin: a CSP that sandboxes it and allows nothing, nosniff, the stored
// (normalised) type, and Content-Disposition: attachment for any type a browser could script
// (content-type.ts). Cross-Origin-Resource-Policy is cross-origin on purpose: chat clients on
// other origins (web clients) show shared images; the file's URL is its only secret.
// Conditional requests (ETag, Last-Modified; RFC 9110 §13) and one byte range (§14: 206, 416)
// let clients resume a download; a list of ranges is answered with the whole file.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { Server } from "../../core/server.js";
import { HttpError, httpErrors } from "../../core/errors.js";
import type { HttpHandler, HttpRequest } from "../../http/server.js";
import type { UploadRecord } from "../../storage/types.js";
import type { UploadFiles } from "./files.js";
import { recordOf } from "./put.js";
import { disposition, safeInline } from "./content-type.js";

/** The one range asked for, "whole" for none (or one this server does not take), or "unsatisfiable". */
export function rangeOf(header: string | undefined, size: number): { start: number; end: number } | "whole" | "unsatisfiable" {
  const m = header === undefined ? null : /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "whole";
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return "whole"; // invalid: ignored (RFC 9110 §14.1.1)
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/** Not modified since what the client holds (If-None-Match first, then If-Modified-Since). */
function notModified(req: HttpRequest, etag: string, modified: number): boolean {
  const inm = req.header("if-none-match");
  if (inm !== undefined) return inm.trim() === "*" || inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
  const ims = Date.parse(req.header("if-modified-since") ?? "");
  return !Number.isNaN(ims) && Math.floor(modified / 1000) * 1000 <= ims;
}

function setFileHeaders(req: HttpRequest, rec: UploadRecord, etag: string, modified: number): void {
  const res = req.res;
  res.setHeader("Content-Security-Policy", "default-src 'none'; sandbox");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Cross-Origin-Resource-Policy", "cross-origin");
  const left = Math.max(0, Math.floor((rec.expiresAt - Date.now()) / 1000));
  res.setHeader("Cache-Control", `private, max-age=${left}, immutable`);
  res.removeHeader("Pragma");
  res.setHeader("ETag", etag);
  res.setHeader("Last-Modified", new Date(modified).toUTCString());
  res.setHeader("Accept-Ranges", "bytes");
}

export function getHandler(server: Server, files: UploadFiles): HttpHandler {
  return async (req) => {
    const rec = await recordOf(server, req);
    if (rec.uploadedAt === undefined || rec.expiresAt <= Date.now()) throw new HttpError(httpErrors.uploadNotFound);
    const path = files.path(rec.id);
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size !== rec.size) throw new HttpError(httpErrors.uploadNotFound);
    const etag = `"${rec.id}"`;
    const res = req.res;
    setFileHeaders(req, rec, etag, rec.uploadedAt);
    if (notModified(req, etag, rec.uploadedAt)) {
      res.writeHead(304);
      res.end();
      return;
    }
    const ifRange = req.header("if-range");
    const rangeOk = ifRange === undefined || ifRange.trim() === etag || Date.parse(ifRange) === Math.floor(rec.uploadedAt / 1000) * 1000;
    const range = rangeOk ? rangeOf(req.header("range"), size) : "whole";
    if (range === "unsatisfiable") throw new HttpError(httpErrors.uploadRangeNotSatisfiable(size));
    const { start, end } = range === "whole" ? { start: 0, end: size - 1 } : range;
    res.setHeader("Content-Type", rec.contentType);
    res.setHeader("Content-Disposition", disposition(safeInline(rec.contentType) ? "inline" : "attachment", rec.filename));
    res.setHeader("Content-Length", end - start + 1);
    if (range !== "whole") res.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
    res.writeHead(range === "whole" ? 200 : 206);
    if (req.method === "HEAD") return void res.end();
    await pipeline(createReadStream(path, { start, end }), res).catch(() => res.destroy());
  };
}
