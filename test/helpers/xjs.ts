// @xmpp/client 0.14 for tests that need a real, independent client over TCP or WebSocket:
// a fixed <user-agent id> (one client across logins), PLAIN forced (xmpp.js's SCRAM is very
// slow, ../shared/reference/clients.md §2.6), an optional FAST token store kept between
// client objects (as an app keeps it between runs), no automatic reconnection, and every
// stanza, error and status change recorded for the test to wait on.
// Node 20 has no global WebSocket: the `ws` package stands in for it (clients.md §2.1).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { WebSocket } from "ws";
import { client, xml, type Client } from "@xmpp/client"; // typed by test/types/xmpp-client.d.ts
import { fixOpenRace, type XmlElement } from "../interop/xmppjs-client.js";

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;

export { xml };
export type { XmlElement };

export interface StoredToken {
  mechanism: string;
  token: string;
  expiry: string;
}
export interface TokenStore {
  token?: StoredToken;
}

export interface XjsOptions {
  service: string;
  username: string;
  password: string;
  /** The <user-agent id>; undefined sends <user-agent/> without one. */
  id?: string;
  software?: string;
  device?: string;
  resource?: string;
  store?: TokenStore;
}

export class XjsClient {
  readonly xmpp: Client;
  readonly wire: string[] = [];
  readonly stanzas: XmlElement[] = [];
  readonly errors: Array<Error & { condition?: string; text?: string }> = [];
  readonly statuses: string[] = [];
  private waiters: Array<() => void> = [];

  constructor(readonly opts: XjsOptions) {
    const ua = [];
    if (opts.software !== undefined) ua.push(xml("software", {}, opts.software));
    if (opts.device !== undefined) ua.push(xml("device", {}, opts.device));
    const userAgent = xml("user-agent", opts.id !== undefined ? { id: opts.id } : {}, ...ua);
    const credentials = async (
      authenticate: (c: unknown, m: string, ua: unknown) => Promise<void>,
      mechanisms: string[],
      fast: { fetch(): Promise<StoredToken | undefined> } | null,
    ) => {
      const token = fast ? await fast.fetch() : undefined;
      return authenticate({ username: opts.username, password: opts.password, token }, mechanisms.includes("PLAIN") ? "PLAIN" : mechanisms[0]!, userAgent);
    };
    this.xmpp = client({
      service: opts.service,
      domain: "localhost",
      username: opts.username,
      password: opts.password,
      resource: opts.resource,
      credentials,
      userAgent,
      timeout: 20_000,
    });
    fixOpenRace(this.xmpp);
    this.xmpp.reconnect.stop();
    if (opts.store) {
      const store = opts.store;
      this.xmpp.fast.fetchToken = async () => store.token;
      this.xmpp.fast.saveToken = async (t: StoredToken) => {
        store.token = t;
      };
      this.xmpp.fast.deleteToken = async () => {
        delete store.token;
      };
    }
    this.xmpp.on("error", (err: Error) => {
      this.errors.push(err);
      this.wake();
    });
    this.xmpp.on("status", (s: string) => {
      this.statuses.push(s);
      this.wake();
    });
    this.xmpp.on("element", (el: XmlElement) => {
      this.wire.push(`IN:  ${el}`);
    });
    this.xmpp.on("send", (el: XmlElement) => {
      this.wire.push(`OUT: ${el}`);
    });
    this.xmpp.on("stanza", (el: XmlElement) => {
      this.stanzas.push(el);
      this.wake();
    });
    this.xmpp.iqCallee.set("jabber:iq:roster", "query", () => true);
  }

  static async online(opts: XjsOptions): Promise<XjsClient> {
    const c = new XjsClient(opts);
    await c.start();
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  wireLog(): string {
    return "--- wire ---\n" + this.wire.join("\n");
  }

  async start(): Promise<string> {
    try {
      return String(await this.xmpp.start());
    } catch (err) {
      if (err instanceof Error)
        err.message = `${err.message || err.name} (login as ${this.opts.username} at ${this.opts.service}, client id ${this.opts.id})\n${this.wireLog()}`;
      throw err;
    }
  }

  get status(): string {
    return this.xmpp.status;
  }
  get jid(): string {
    return this.xmpp.jid.toString();
  }

  /** The <authenticate/> elements it sent, in order. */
  authenticates(): string[] {
    return this.wire.filter((l) => l.startsWith("OUT:") && l.includes("<authenticate"));
  }

  send(el: XmlElement): Promise<void> {
    return this.xmpp.send(el);
  }

  iq(type: "get" | "set", payload: XmlElement): Promise<XmlElement> {
    return this.xmpp.iqCaller.request(xml("iq", { type }, payload), 10_000);
  }

  /** Waits until probe() gives something (checked after every stanza, error and status change). */
  async until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = probe();
      if (r !== undefined) return r;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (status ${this.status}, errors ${this.errors.map(String).join("; ")})\n${this.wireLog()}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  waitForStanza(what: string, pred: (el: XmlElement) => boolean, timeoutMs?: number): Promise<XmlElement> {
    return this.until(what, () => this.stanzas.find(pred), timeoutMs);
  }

  /** The stream error that ended the session. */
  streamError(timeoutMs?: number): Promise<Error & { condition?: string; text?: string }> {
    return this.until("a stream error", () => this.errors.find((e) => e.name === "StreamError"), timeoutMs);
  }

  /** Resolves once the connection is gone (the server closed it). */
  disconnected(timeoutMs?: number): Promise<true> {
    return this.until("the connection to close", () => (this.statuses.includes("disconnect") || this.status === "offline" ? true : undefined), timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.status === "offline") return;
    await this.xmpp.stop().catch(() => {});
  }
}
