// Client side of HTTP file upload (XEP-0363) for tests: a slot request through a real
// @xmpp/client (the slot, or the refusal's <error/> as the client parsed it), and HTTPS
// requests with node:https that check the server's certificate (the test CA).
import https from "node:https";
import type { Interop, XmlElement } from "../interop/xmppjs-client.js";
import { xml } from "../interop/xmppjs-client.js";
import type { TestServer } from "./server.js";

const NS_UPLOAD = "urn:xmpp:http:upload:0";

export interface Slot {
  put: string;
  get: string;
  /** The <header/>s of <put/>, by name. */
  headers: Record<string, string>;
  headerNames: string[];
}

export interface SlotRefusal {
  error: XmlElement;
  type: string | undefined;
  condition: string;
  text: string | undefined;
}

interface XmppError {
  element: XmlElement;
  condition: string;
  text?: string;
}

function isXmppError(e: unknown): e is XmppError {
  return typeof e === "object" && e !== null && "element" in e && "condition" in e;
}

export async function requestSlot(c: Interop, filename: string, size: number | string, contentType?: string): Promise<Slot | SlotRefusal> {
  const req = xml("request", { xmlns: NS_UPLOAD, filename, size: String(size), "content-type": contentType });
  try {
    const reply = await c.iq("get", req, "localhost");
    const slot = reply.getChild("slot", NS_UPLOAD);
    if (!slot) throw new Error(`no <slot/> in ${String(reply)}`);
    const put = slot.getChild("put")!;
    const headers: Record<string, string> = {};
    const headerNames: string[] = [];
    for (const h of put.getChildren("header")) {
      headers[h.attrs.name!] = h.text();
      headerNames.push(h.attrs.name!);
    }
    return { put: put.attrs.url!, get: slot.getChild("get")!.attrs.url!, headers, headerNames };
  } catch (err) {
    if (!isXmppError(err)) throw err;
    return { error: err.element, type: err.element.attrs.type, condition: err.condition, text: err.text || undefined };
  }
}

export interface Fetched {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
  text: string;
}

/**
 * A request to a URL the server gave out (https://localhost:PORT/…), sent to 127.0.0.1 with SNI
 * and the certificate check for "localhost". `chunks`: a chunked body, written piece by piece.
 */
export function fetchUrl(
  server: TestServer,
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string; chunks?: string[] } = {},
): Promise<Fetched> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: Number(u.port),
        path: u.pathname + u.search,
        method,
        servername: "localhost",
        ca: server.caCert,
        headers: { Host: u.host, ...opts.headers },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => {
          const body = Buffer.concat(parts);
          const headers: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
          resolve({ status: res.statusCode ?? 0, headers, body, text: body.toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A body cut off by the server: the connection reset before an answer could be read.
      if (opts.chunks && (err.code === "ECONNRESET" || err.code === "EPIPE")) resolve({ status: 0, headers: {}, body: Buffer.alloc(0), text: String(err) });
      else reject(err);
    });
    if (opts.chunks) {
      for (const ch of opts.chunks) req.write(ch);
      req.end();
    } else req.end(opts.body);
  });
}
