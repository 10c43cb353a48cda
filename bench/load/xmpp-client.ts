// A minimal raw XMPP client for load generation: TLS (direct, XEP-0368, or STARTTLS),
// SCRAM-SHA-256, resource binding, and pipelined sending / counting of messages. No XML
// parser: it waits for marker strings during login and counts closing tags afterwards.
import net from "node:net";
import tls from "node:tls";
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

export interface Target {
  host: string;
  /** Direct-TLS port, or the plain c2s port when starttls is set. */
  port: number;
  domain: string;
  starttls: boolean;
}

export interface Account {
  user: string;
  password: string;
}

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";

export function streamHeader(domain: string): string {
  return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}' version='1.0'>`;
}

// --- SCRAM-SHA-256 (RFC 5802 / RFC 7677), client side --------------------------------------

interface ScramKeys { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer }

/** SaltedPassword and the keys derived from it, per (password, salt, iterations): a real
 * client caches these too, so the PBKDF2 cost is paid once per user, not per login. */
const keyCache = new Map<string, ScramKeys>();

function scramKeys(password: string, saltB64: string, iterations: number): ScramKeys {
  const k = `${iterations}\0${saltB64}\0${password}`;
  let keys = keyCache.get(k);
  if (!keys) {
    const salted = pbkdf2Sync(password, Buffer.from(saltB64, "base64"), iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    keys = {
      clientKey,
      storedKey: createHash("sha256").update(clientKey).digest(),
      serverKey: createHmac("sha256", salted).update("Server Key").digest(),
    };
    keyCache.set(k, keys);
  }
  return keys;
}

export function scramCacheSize(): number { return keyCache.size; }

function saslName(s: string): string {
  return s.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

// --- connection --------------------------------------------------------------------------

export class LoginError extends Error {
  constructor(readonly step: string, message: string) {
    super(`${step}: ${message}`);
    this.name = "LoginError";
  }
}

interface Waiter {
  markers: string[];
  resolve: (got: { text: string; marker: string }) => void;
  reject: (err: Error) => void;
}

/** Markers that end a login step badly, whatever step we are in. */
const FATAL = ["</stream:error>", "</stream:stream>"];

export class Conn {
  socket: net.Socket;
  closed = false;
  /** Everything received and not yet consumed by a waiter (login phase only). */
  private buf = "";
  private waiter: Waiter | undefined;
  private counter: ((n: number) => void) | undefined;
  private countTag = "";
  private tail = "";
  private step = "connect";
  private closeError: Error | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(s: net.Socket): void {
    s.on("data", this.onData);
    s.on("close", this.onClose);
    s.on("error", this.onError);
  }

  private detach(s: net.Socket): void {
    s.removeListener("data", this.onData);
    s.removeListener("close", this.onClose);
    s.removeListener("error", this.onError);
  }

  private readonly onError = (err: Error) => { this.closeError ??= err; };

  private readonly onClose = () => {
    this.closed = true;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      const why = this.closeError ? this.closeError.message : "connection closed";
      w.reject(new LoginError(this.step, `${why}; received: ${JSON.stringify(this.buf.slice(0, 600))}`));
    }
  };

  private readonly onData = (d: Buffer) => {
    // latin1: the markers are ASCII, and a UTF-8 sequence split across chunks cannot hurt.
    const chunk = d.toString("latin1");
    if (this.counter) {
      const s = this.tail + chunk;
      const tag = this.countTag;
      let n = 0;
      let i = s.indexOf(tag);
      while (i >= 0) { n++; i = s.indexOf(tag, i + tag.length); }
      // Keep fewer characters than the tag so that no occurrence is counted twice.
      this.tail = s.length >= tag.length ? s.slice(s.length - tag.length + 1) : s;
      if (n > 0) this.counter(n);
      return;
    }
    this.buf += chunk;
    this.check();
  };

  private check(): void {
    const w = this.waiter;
    if (!w) return;
    let best = -1;
    let marker = "";
    for (const m of w.markers) {
      const i = this.buf.indexOf(m);
      if (i >= 0 && (best < 0 || i < best)) { best = i; marker = m; }
    }
    if (best >= 0) {
      const end = best + marker.length;
      const text = this.buf.slice(0, end);
      this.buf = this.buf.slice(end);
      this.waiter = undefined;
      if (FATAL.includes(marker)) w.reject(new LoginError(this.step, `stream ended: ${JSON.stringify(text.slice(-600))}`));
      else w.resolve({ text, marker });
    }
  }

  /** Waits until one of the markers has arrived; returns everything up to and including it. */
  private expect(step: string, ...markers: string[]): Promise<{ text: string; marker: string }> {
    this.step = step;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new LoginError(step, `connection closed; received: ${JSON.stringify(this.buf.slice(0, 600))}`));
      this.waiter = { markers: [...markers, ...FATAL], resolve, reject };
      this.check();
    });
  }

  write(data: string): boolean {
    return this.socket.write(data);
  }

  /** From now on, only count occurrences of a closing tag (e.g. "</message>"). */
  count(closingTag: string, cb: (n: number) => void): void {
    this.countTag = closingTag;
    this.counter = cb;
    if (this.buf) { const b = this.buf; this.buf = ""; this.onData(Buffer.from(b, "latin1")); }
  }

  /** Polite close: end the stream and the TLS session; the socket goes when the server closes. */
  close(): void {
    if (this.closed) return;
    this.socket.end("</stream:stream>");
    setTimeout(() => this.socket.destroy(), 3000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // --- login ---------------------------------------------------------------------------

  private async upgradeTls(): Promise<void> {
    const raw = this.socket;
    this.detach(raw);
    const secure = tls.connect({ socket: raw, servername: "localhost", rejectUnauthorized: false });
    this.socket = secure;
    this.attach(secure);
    await new Promise<void>((res, rej) => {
      secure.once("secureConnect", () => res());
      secure.once("close", () => rej(new LoginError("tls", `handshake failed: ${this.closeError?.message ?? "closed"}`)));
    });
  }

  private async scram(account: Account, domain: string): Promise<void> {
    const cnonce = randomBytes(18).toString("base64");
    const clientFirstBare = `n=${saslName(account.user)},r=${cnonce}`;
    const gs2 = "n,,";
    this.write(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${Buffer.from(gs2 + clientFirstBare).toString("base64")}</auth>`);
    const ch = await this.expect("sasl-challenge", "</challenge>", "</failure>", "<failure/>");
    if (ch.marker !== "</challenge>") throw new LoginError("sasl-challenge", `auth refused: ${JSON.stringify(ch.text)}`);
    const m = /<challenge[^>]*>([^<]*)<\/challenge>$/.exec(ch.text);
    if (!m) throw new LoginError("sasl-challenge", `unreadable challenge: ${JSON.stringify(ch.text)}`);
    const serverFirst = Buffer.from(m[1]!, "base64").toString("utf8");
    const attrs = new Map(serverFirst.split(",").map((p) => [p[0]!, p.slice(2)]));
    const nonce = attrs.get("r"), salt = attrs.get("s"), iter = Number(attrs.get("i"));
    if (!nonce || !salt || !Number.isInteger(iter) || !nonce.startsWith(cnonce)) {
      throw new LoginError("sasl-challenge", `bad server-first-message ${JSON.stringify(serverFirst)}`);
    }
    const keys = scramKeys(account.password, salt, iter);
    const finalNoProof = `c=${Buffer.from(gs2).toString("base64")},r=${nonce}`;
    const authMessage = `${clientFirstBare},${serverFirst},${finalNoProof}`;
    const clientSig = createHmac("sha256", keys.storedKey).update(authMessage).digest();
    const proof = Buffer.alloc(clientSig.length);
    for (let i = 0; i < proof.length; i++) proof[i] = keys.clientKey[i]! ^ clientSig[i]!;
    this.write(`<response xmlns='${NS_SASL}'>${Buffer.from(`${finalNoProof},p=${proof.toString("base64")}`).toString("base64")}</response>`);
    const ok = await this.expect("sasl-success", "</success>", "</failure>", "<failure/>", "<success/>");
    if (ok.marker !== "</success>") throw new LoginError("sasl-success", `login refused: ${JSON.stringify(ok.text)}`);
    const v = /<success[^>]*>([^<]*)<\/success>$/.exec(ok.text);
    const expected = createHmac("sha256", keys.serverKey).update(authMessage).digest();
    const got = Buffer.from(Buffer.from(v?.[1] ?? "", "base64").toString("utf8").replace(/^v=/, ""), "base64");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new LoginError("sasl-success", `server signature does not verify: ${JSON.stringify(ok.text)}`);
    }
    void domain;
  }

  /** Connects, authenticates and binds. Rejects (and destroys the socket) on any failure or after timeoutMs. */
  static async login(t: Target, account: Account, resource: string, timeoutMs = 15_000): Promise<Conn> {
    const socket = t.starttls
      ? net.connect({ host: t.host, port: t.port })
      : tls.connect({ host: t.host, port: t.port, servername: "localhost", rejectUnauthorized: false, ALPNProtocols: ["xmpp-client"] });
    socket.setNoDelay(true);
    const c = new Conn(socket);
    const timer = setTimeout(() => { c.closeError ??= new Error(`timed out after ${timeoutMs} ms`); c.socket.destroy(); }, timeoutMs);
    try {
      if (t.starttls) {
        c.write(streamHeader(t.domain));
        await c.expect("features", "</stream:features>");
        c.write(`<starttls xmlns='${NS_TLS}'/>`);
        const p = await c.expect("starttls", "<proceed", "<failure");
        if (p.marker !== "<proceed") throw new LoginError("starttls", JSON.stringify(p.text));
        c.buf = "";
        await c.upgradeTls();
      }
      // The header may be written before the TLS handshake is done: Node queues it.
      c.write(streamHeader(t.domain));
      const f = await c.expect("features", "</stream:features>");
      if (!f.text.includes(">SCRAM-SHA-256<")) throw new LoginError("features", `no SCRAM-SHA-256 offered: ${JSON.stringify(f.text)}`);
      await c.scram(account, t.domain);
      c.write(streamHeader(t.domain));
      await c.expect("features-after-auth", "</stream:features>");
      c.write(`<iq type='set' id='b'><bind xmlns='${NS_BIND}'><resource>${resource}</resource></bind></iq>`);
      const r = await c.expect("bind", "</iq>", "<iq type='error'");
      if (!/^[\s\S]*<iq[^>]*type='result'[^>]*>[\s\S]*<jid>[^<]+<\/jid>/.test(r.text)) throw new LoginError("bind", JSON.stringify(r.text));
      c.step = "bound";
      return c;
    } catch (err) {
      c.socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
