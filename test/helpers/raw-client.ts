// A deliberately dumb XMPP client for tests: it writes exactly the bytes a test gives it and
// lets the test wait for patterns in what comes back, so it can send what polite clients never do.
import net from "node:net";
import tls from "node:tls";

export class RawClient {
  socket: net.Socket;
  received = "";
  closed = false;
  closedAt = 0;
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(s: net.Socket): void {
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      this.received += d;
      this.wake();
    });
    s.on("close", () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.wake();
    });
    s.on("error", () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** `localAddress`: another loopback address (127.0.0.2 …) to come from, as a second client IP. */
  static async connect(port: number, opts: { directTls?: boolean; ca?: string; localAddress?: string } = {}): Promise<RawClient> {
    const socket = opts.directTls
      ? tls.connect({
          socket: net.connect({ port, host: "127.0.0.1", localAddress: opts.localAddress }),
          servername: "localhost",
          ca: opts.ca,
          rejectUnauthorized: !!opts.ca,
        })
      : net.connect({ port, host: "127.0.0.1", localAddress: opts.localAddress });
    await new Promise<void>((res, rej) => {
      socket.once(opts.directTls ? "secureConnect" : "connect", () => res());
      socket.once("error", rej);
    });
    return new RawClient(socket);
  }

  send(data: string): void {
    this.socket.write(data);
  }

  /** Waits until the received text matches; returns the match. Consumes nothing. */
  async waitFor(re: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return this.waitUntil((text) => text.match(re) ?? undefined, String(re), timeoutMs);
  }

  /**
   * Waits until `test` (called with everything received so far, and again on every arrival)
   * returns something other than undefined, and returns that. Consumes nothing.
   */
  async waitUntil<T>(test: (received: string) => T | undefined, what = "a condition", timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = test(this.received);
      if (r !== undefined) return r;
      if (this.closed) throw new Error(`closed before ${what} arrived; got: ${this.received}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got: ${this.received}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Forgets what was received so far (so the next waitFor looks only at new data). */
  clear(): void {
    this.received = "";
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`socket still open; got: ${this.received}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  openStream(to = "localhost"): void {
    this.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`);
  }

  async startTls(ca?: string): Promise<void> {
    this.openStream();
    await this.waitFor(/<starttls/);
    await this.upgradeTls(ca);
  }

  /** Sends <starttls/> on an already open stream and does the TLS handshake on <proceed/>. */
  async upgradeTls(ca?: string): Promise<void> {
    this.clear();
    this.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await this.waitFor(/<proceed/);
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("close");
    const secure = tls.connect({ socket: this.socket, servername: "localhost", ca, rejectUnauthorized: !!ca });
    await new Promise<void>((res, rej) => {
      secure.once("secureConnect", () => res());
      secure.once("error", rej);
    });
    this.socket = secure;
    this.attach(secure);
    this.clear();
  }

  /** STARTTLS (unless already TLS), then SASL PLAIN: whether the server answered <success>. */
  async plainAuth(user: string, password: string, timeoutMs = 5000): Promise<boolean> {
    if (!(this.socket instanceof tls.TLSSocket)) await this.startTls();
    this.openStream();
    await this.waitFor(/<\/stream:features>/);
    this.clear();
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString("base64")}</auth>`);
    const m = await this.waitFor(/<(success|failure)\b/, timeoutMs);
    return m[1] === "success";
  }

  /** STARTTLS (unless already TLS), PLAIN, bind: ready for stanzas. Returns the full JID. */
  async login(user: string, password: string, resource?: string): Promise<string> {
    if (!(await this.plainAuth(user, password))) throw new Error(`PLAIN login of ${user} failed: ${this.received}`);
    this.clear();
    this.openStream();
    await this.waitFor(/<\/stream:features>/);
    this.clear();
    this.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>${resource ? `<resource>${resource}</resource>` : ""}</bind></iq>`);
    const m = await this.waitFor(/<jid>([^<]+)<\/jid>/);
    this.clear();
    return m[1]!;
  }

  close(): void {
    this.socket.destroy();
  }
}
