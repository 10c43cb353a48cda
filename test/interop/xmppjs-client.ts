// A thin wrapper around a real @xmpp/client 0.14 instance for interop tests: it records every
// stanza the client receives and lets a test wait for one that matches.
// The server's certificate is self-signed; @xmpp/tls and @xmpp/starttls call tls.connect()
// with no options hook, so certificate checking is switched off for this test process.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { client, xml, type Client, type Element } from "@xmpp/client"; // typed by test/types/xmpp-client.d.ts
import { promise } from "@xmpp/events";

export { xml };

/** @xmpp/xml's Element (ltx's). */
export type XmlElement = Element;

type XmppClient = Client;

export interface Options {
  service: string;
  username: string;
  password: string;
  resource?: string;
  /** Force one SASL mechanism the client knows ("SCRAM-SHA-1" or "PLAIN"). */
  mechanism?: string;
}

/**
 * Works around a race in @xmpp/connection 0.14 (not in the server): `open()` writes the stream
 * header, waits for the write callback, and only then listens for the server's header. With
 * TLS 1.3, Node often calls a TLS socket's write callback after the reply has already been
 * read (measured here: 12 of 40 times, against Warden and against a bare node:tls server
 * alike; never with TLS 1.2), so the "open" event is missed and start() fails with a
 * TimeoutError after `timeout` ms although the client went online. Same code, but listening
 * first. See xmppjs/xmpp.js#889 for the same symptom.
 */
export function fixOpenRace(xmpp: XmppClient): void {
  xmpp.open = async function open(this: XmppClient, options: { domain: string; lang?: string }) {
    this._status("opening");
    const headerElement = this.headerElement();
    headerElement.attrs.to = options.domain;
    headerElement.attrs["xml:lang"] = options.lang;
    this.root = headerElement;
    this._attachParser(new this.Parser());
    const opened = promise(this, "open", "error", this.timeout);
    opened.catch(() => {}); // handled by the caller through the return value
    await this.write(this.header(headerElement));
    return opened;
  };
}

export class Interop {
  readonly xmpp: XmppClient;
  readonly stanzas: XmlElement[] = [];
  readonly errors: unknown[] = [];
  /** The raw XML in both directions, for failure messages. */
  readonly wire: string[] = [];
  /** The SASL mechanism the client chose, and what the server offered. */
  mechanism: string | undefined;
  offered: string[] = [];
  private waiters: Array<() => void> = [];

  constructor(private readonly opts: Options) {
    const userAgent = xml("user-agent", { id: "5d3c1b6e-8a1f-4c2e-9b7d-0e6f3a2b1c40" }, xml("software", {}, "warden-interop"), xml("device", {}, "test"));
    const credentials = async (authenticate: (c: unknown, m: string, ua: unknown) => Promise<void>, mechanisms: string[]) => {
      this.offered = mechanisms;
      const mech = opts.mechanism ?? mechanisms[0]!;
      this.mechanism = mech;
      return authenticate({ username: opts.username, password: opts.password }, mech, userAgent);
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
    // No automatic reconnection: a connection the server closes stays closed (tests assert on
    // that), and a reconnect timer left running after a test would keep its process alive.
    this.xmpp.reconnect.stop();
    this.xmpp.on("error", (err: unknown) => {
      this.errors.push(err);
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
    // Acknowledge roster pushes (RFC 6121 §2.1.6) the way a real client does.
    this.xmpp.iqCallee.set("jabber:iq:roster", "query", () => true);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async online(opts: Options): Promise<Interop> {
    const c = new Interop(opts);
    await c.start();
    return c;
  }

  async start(): Promise<string> {
    try {
      const address = await this.xmpp.start();
      return address.toString();
    } catch (err) {
      if (err instanceof Error) err.message = `${err.message || err.name} (login as ${this.opts.username} at ${this.opts.service})\n${this.wireLog()}`;
      throw err;
    }
  }

  wireLog(): string {
    return "--- wire ---\n" + this.wire.join("\n");
  }

  get jid(): string {
    return this.xmpp.jid.toString();
  }
  get bare(): string {
    return this.xmpp.jid.bare().toString();
  }

  send(el: XmlElement): Promise<void> {
    return this.xmpp.send(el);
  }

  iq(type: "get" | "set", child: XmlElement, to?: string): Promise<XmlElement> {
    return this.xmpp.iqCaller.request(xml("iq", to ? { type, to } : { type }, child), 10_000);
  }

  /** Waits for a received stanza matching pred (looking at those already received too); returns it. */
  async waitFor(what: string, pred: (el: XmlElement) => boolean, timeoutMs = 10_000): Promise<XmlElement> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.stanzas.find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.describe()}: timed out waiting for ${what}; received:\n${this.stanzas.map(String).join("\n") || "(nothing)"}\n${this.wireLog()}`,
        );
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  private describe(): string {
    try {
      return this.jid;
    } catch {
      return "client";
    }
  }

  async stop(): Promise<void> {
    if (this.xmpp.status === "offline") return;
    await this.xmpp.stop();
  }
}
