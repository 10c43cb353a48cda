// The PUT of a slot's file (XEP-0363 §5): checked before a byte is written (the slot exists,
// the token is the slot's, compared in constant time, the slot is unused, unrevoked and
// unexpired, the declared length and type are the slot's), then claimed, so a second PUT gets
// 409; the body streams to a partial file and is cut off at the slot's size, and only a whole
// file is renamed into place and recorded. 201 when it is stored. A slow phone may take its
// time (src/http/deadline.ts): the body is stopped only after http_body_idle_timeout without a
// byte, or past http_request_timeout + size / http_body_min_rate; then the partial file is
// deleted and the slot released, so the client may PUT to it again while it is valid.
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Server } from "../../core/server.js";
import { HttpError, httpErrors } from "../../core/errors.js";
import { lateError, type HttpHandler, type HttpRequest } from "../../http/server.js";
import type { UploadRecord } from "../../storage/types.js";
import { ID_RE, type UploadFiles } from "./files.js";
import { UPLOAD_PATH, tokenHash } from "./slot.js";
import { normaliseType } from "./content-type.js";

/** The record that /upload/<id>/<filename> names (the filename must be the slot's too), or 404. */
export async function recordOf(server: Server, req: HttpRequest): Promise<UploadRecord> {
  const rest = req.url.pathname.slice(UPLOAD_PATH.length);
  const slash = rest.indexOf("/");
  const id = rest.slice(0, slash);
  let name: string | undefined;
  try {
    name = decodeURIComponent(rest.slice(slash + 1));
  } catch {
    name = undefined;
  }
  const rec = slash > 0 && ID_RE.test(id) && name !== undefined ? await server.storage.uploads.get(id) : undefined;
  if (!rec || rec.filename !== name) throw new HttpError(httpErrors.uploadNotFound);
  return rec;
}

function checkToken(req: HttpRequest, rec: UploadRecord): void {
  const m = /^Bearer +([A-Za-z0-9_-]{1,256})$/i.exec((req.header("authorization") ?? "").trim());
  if (!m) throw new HttpError(httpErrors.uploadTokenMissing);
  const given = Buffer.from(tokenHash(m[1]!), "hex");
  const expected = Buffer.from(rec.tokenHash, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError(httpErrors.uploadTokenWrong);
}

/** Writes the body to `path`; rejects (with the file partly written) past `size` bytes, when cut short or late. */
function receive(raw: IncomingMessage, path: string, size: number, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { flags: "wx", mode: 0o600 });
    let received = 0;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      raw.pause();
      out.destroy();
      reject(err);
    };
    out.on("error", fail);
    if (signal.aborted) return fail(lateError(signal));
    signal.addEventListener("abort", () => fail(lateError(signal)));
    out.on("drain", () => raw.resume());
    raw.on("data", (c: Buffer) => {
      received += c.length;
      if (received > size) return fail(new HttpError(httpErrors.uploadTooLarge(size)));
      if (!out.write(c)) raw.pause();
    });
    raw.on("end", () => {
      if (done) return;
      done = true;
      out.end(() => resolve(received));
    });
    raw.on("error", () => fail(new HttpError(httpErrors.bodyCutShort)));
    raw.on("close", () => fail(new HttpError(httpErrors.bodyCutShort)));
  });
}

export function putHandler(server: Server, files: UploadFiles): HttpHandler {
  const uploads = server.storage.uploads;
  return async (req) => {
    const rec = await recordOf(server, req);
    checkToken(req, rec);
    const now = Date.now();
    if (rec.uploadedAt !== undefined) throw new HttpError(httpErrors.uploadDone);
    if (rec.revoked) throw new HttpError(httpErrors.uploadSlotRevoked);
    if (rec.slotExpiresAt <= now) throw new HttpError(httpErrors.uploadSlotExpired);
    const length = req.header("content-length");
    if (length !== undefined && Number(length) > rec.size) throw new HttpError(httpErrors.uploadTooLarge(rec.size));
    if (length !== undefined && Number(length) !== rec.size) throw new HttpError(httpErrors.uploadWrongSize(rec.size));
    const type = req.header("content-type");
    if (type !== undefined && normaliseType(type) !== rec.contentType) throw new HttpError(httpErrors.uploadWrongType(rec.contentType));
    if (!(await uploads.claim(rec.id, now))) throw new HttpError(httpErrors.uploadDone);

    const partial = files.partial(rec.id);
    let received: number;
    try {
      req.expectBody(rec.size);
      received = await receive(req.raw, partial, rec.size, req.signal);
      if (received !== rec.size) throw new HttpError(httpErrors.uploadWrongSize(rec.size));
    } catch (err) {
      await rm(partial, { force: true });
      await uploads.release(rec.id);
      throw err;
    }
    const path = files.path(rec.id);
    await rename(partial, path);
    if (!(await uploads.complete(rec.id, Date.now()))) {
      // Revoked while the body was arriving.
      await rm(path, { force: true });
      throw new HttpError(httpErrors.uploadSlotRevoked);
    }
    req.res.setHeader("Content-Length", 0);
    req.res.writeHead(201);
    req.res.end();
  };
}
