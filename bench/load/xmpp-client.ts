// A minimal raw XMPP client for load generation: TLS (direct, XEP-0368, or STARTTLS),
// SCRAM-SHA-256, resource binding, and pipelined sending / counting of messages; SASL2
// (XEP-0388) logins with Bind2 (XEP-0386) by SCRAM-SHA-256, PLAIN or FAST (XEP-0484,
// HT-SHA-256-NONE), and IQ round trips. No XML parser: it waits for marker strings (or the
// IQ with a given id) and counts closing tags afterwards.
import net from "node:net";
import tls from "node:tls";
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { performance } from "node:perf_hooks";

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
export const NS_SASL2 = "urn:xmpp:sasl:2";
export const NS_BIND2 = "urn:xmpp:bind:0";
export const NS_FAST = "urn:xmpp:fast:0";

export function streamHeader(domain: string): string {
  return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}' version='1.0'>`;
}

// --- SCRAM-SHA-256 (RFC 5802 / RFC 7677), client side --------------------------------------

interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

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

export function scramCacheSize(): number {
  return keyCache.size;
}

function saslName(s: string): string {
  return s.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

/** One SCRAM-SHA-256 exchange (no channel binding), client side, for SASL and SASL2 alike. */
class ScramExchange {
  private readonly cnonce = randomBytes(18).toString("base64");
  private readonly gs2 = "n,,";
  private readonly clientFirstBare: string;
  private authMessage = "";
  private keys: ScramKeys | undefined;

  constructor(private readonly account: Account) {
    this.clientFirstBare = `n=${saslName(account.user)},r=${this.cnonce}`;
  }

  /** client-first-message */
  first(): Buffer {
    return Buffer.from(this.gs2 + this.clientFirstBare);
  }

  /** client-final-message for this server-first-message (base64-decoded). */
  final(serverFirst: string, step: string): Buffer {
    const attrs = new Map(serverFirst.split(",").map((p) => [p[0]!, p.slice(2)]));
    const nonce = attrs.get("r"),
      salt = attrs.get("s"),
      iter = Number(attrs.get("i"));
    if (!nonce || !salt || !Number.isInteger(iter) || !nonce.startsWith(this.cnonce)) {
      throw new LoginError(step, `bad server-first-message ${JSON.stringify(serverFirst)}`);
    }
    this.keys = scramKeys(this.account.password, salt, iter);
    const finalNoProof = `c=${Buffer.from(this.gs2).toString("base64")},r=${nonce}`;
    this.authMessage = `${this.clientFirstBare},${serverFirst},${finalNoProof}`;
    const clientSig = createHmac("sha256", this.keys.storedKey).update(this.authMessage).digest();
    const proof = Buffer.alloc(clientSig.length);
    for (let i = 0; i < proof.length; i++) proof[i] = this.keys.clientKey[i]! ^ clientSig[i]!;
    return Buffer.from(`${finalNoProof},p=${proof.toString("base64")}`);
  }

  /** Whether the server-final-message ("v=…", base64-decoded) carries the right ServerSignature. */
  verify(serverFinal: string): boolean {
    if (!this.keys) return false;
    const expected = createHmac("sha256", this.keys.serverKey).update(this.authMessage).digest();
    const got = Buffer.from(serverFinal.replace(/^v=/, ""), "base64");
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}

/** HMAC-SHA-256(key = token, "Initiator" || cb) / ("Responder" || cb): the HT proofs (no channel binding here). */
export function htProof(token: string, who: "Initiator" | "Responder"): Buffer {
  return createHmac("sha256", token).update(who).digest();
}

/** How a SASL2 login authenticates. */
export type Sasl2Auth =
  | { mechanism: "SCRAM-SHA-256" }
  | { mechanism: "PLAIN" }
  /** FAST: the token from an earlier <request-token/>. */
  | { mechanism: "HT-SHA-256-NONE"; token: string };

export interface Sasl2Options {
  /** <user-agent id='…'>: the client id (required by FAST, and what client management tracks). */
  clientId: string;
  /** Bind2 with this <tag/>; no Bind2 when undefined. */
  bindTag?: string;
  /** Ask for a FAST token (<request-token mechanism='HT-SHA-256-NONE'/>). */
  requestToken?: boolean;
  /**
   * Resume this client's previous TLS session (a TLS 1.3 ticket), as a reconnecting client
   * does: the handshake then needs no certificate signature.
   */
  resumeTls?: boolean;
}

/** The last TLS session ticket of each client id, for resumeTls. */
const tlsSessions = new Map<string, Buffer>();

export interface Sasl2Login {
  conn: Conn;
  /** The whole <success>…</success>. */
  success: string;
  /** The FAST token the <success/> carried, if any. */
  token?: string;
  /** Times the client waited for the server after the TLS handshake (stream features included). */
  roundTrips: number;
  /** The negotiated TLS version, e.g. "TLSv1.3". */
  tlsProtocol: string;
}

const unescapeAttr = (s: string) =>
  s
    .replace(/&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

// --- connection --------------------------------------------------------------------------

export class LoginError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(`${step}: ${message}`);
    this.name = "LoginError";
  }
}

/**
 * What a waiter looks for: given a window of the buffer (`win`, which starts at offset `base`
 * of the buffer), the buffer offset where what it wants ends and a label, or undefined. The
 * first call sees the whole buffer; later calls only the newest chunk behind the last
 * SCAN_OVERLAP characters of what came before, so that a large answer arriving in many chunks
 * is neither rescanned nor copied into one string for each chunk.
 */
type Finder = (win: string, base: number) => { end: number; marker: string } | undefined;
const SCAN_OVERLAP = 1024; // longer than any marker or <iq …> start tag we look for

interface Waiter {
  find: Finder;
  resolve: (got: { text: string; marker: string }) => void;
  reject: (err: Error) => void;
}

function markerFinder(markers: string[]): Finder {
  return (win, base) => {
    let best = -1;
    let marker = "";
    for (const m of markers) {
      const i = win.indexOf(m);
      if (i >= 0 && (best < 0 || i < best)) {
        best = i;
        marker = m;
      }
    }
    return best >= 0 ? { end: base + best + marker.length, marker } : undefined;
  };
}

/** Finds the whole <iq/> with this id (self-closing or not); marker "iq". Ids must need no escaping. */
function iqFinder(id: string): Finder {
  const re = new RegExp(`<iq\\s[^>]*\\bid=(['"])${id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\1[^>]*>`, "g");
  let startEnd = -1; // buffer offset of the end of the <iq …> start tag, once seen
  return (win, base) => {
    if (startEnd < 0) {
      re.lastIndex = 0;
      const m = re.exec(win);
      if (!m) return undefined;
      startEnd = base + m.index + m[0].length;
      if (m[0].endsWith("/>")) return { end: startEnd, marker: "iq" };
    }
    const close = win.indexOf("</iq>", Math.max(0, startEnd - base));
    return close < 0 ? undefined : { end: base + close + 5, marker: "iq" };
  };
}

/** Markers that end a login step badly, whatever step we are in. */
const FATAL = ["</stream:error>", "</stream:stream>"];
const fatalFinder = markerFinder(FATAL);

export class Conn {
  socket: net.Socket;
  closed = false;
  /** performance.now() when the socket emitted 'close'. */
  closedAt = 0;
  /** How many times this connection waited for the server (expect() calls). */
  waits = 0;
  /** Everything received and not yet consumed by a waiter (login phase only), in chunks. */
  private parts: string[] = [];
  private partsLength = 0;
  /** The last SCAN_OVERLAP characters of the buffer the current waiter has scanned. */
  private scanTail = "";
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

  /** The buffer as one string. */
  private get buf(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join("")];
    return this.parts[0] ?? "";
  }

  private set buf(s: string) {
    this.parts = s ? [s] : [];
    this.partsLength = s.length;
  }

  private readonly onError = (err: Error) => {
    this.closeError ??= err;
  };

  private readonly onClose = () => {
    this.closed = true;
    this.closedAt = performance.now();
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
      while (i >= 0) {
        n++;
        i = s.indexOf(tag, i + tag.length);
      }
      // Keep fewer characters than the tag so that no occurrence is counted twice.
      this.tail = s.length >= tag.length ? s.slice(s.length - tag.length + 1) : s;
      if (n > 0) this.counter(n);
      return;
    }
    this.parts.push(chunk);
    this.partsLength += chunk.length;
    const w = this.waiter;
    if (!w) return;
    const win = this.scanTail + chunk;
    this.scan(w, win, this.partsLength - win.length);
  };

  /** Looks for what the waiter wants (or the end of the stream, whichever comes first) in a window of the buffer starting at `base`. */
  private scan(w: Waiter, win: string, base: number): void {
    this.scanTail = win.length > SCAN_OVERLAP ? win.slice(win.length - SCAN_OVERLAP) : win;
    const got = w.find(win, base);
    const fatal = fatalFinder(win, base);
    const hit = fatal && (!got || fatal.end <= got.end) ? fatal : got;
    if (hit) {
      const { end, marker } = hit;
      const text = this.buf.slice(0, end);
      this.buf = this.buf.slice(end);
      this.waiter = undefined;
      if (FATAL.includes(marker)) w.reject(new LoginError(this.step, `stream ended: ${JSON.stringify(text.slice(-600))}`));
      else w.resolve({ text, marker });
    }
  }

  /** Waits until one of the markers has arrived; returns everything up to and including it. */
  expect(step: string, ...markers: string[]): Promise<{ text: string; marker: string }> {
    return this.expectWith(step, markerFinder(markers));
  }

  private expectWith(step: string, find: Finder): Promise<{ text: string; marker: string }> {
    this.step = step;
    this.waits++;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new LoginError(step, `connection closed; received: ${JSON.stringify(this.buf.slice(0, 600))}`));
      const w: Waiter = { find, resolve, reject };
      this.waiter = w;
      this.scan(w, this.buf, 0);
    });
  }

  /** Sends an IQ whose id is `id` and resolves with the whole answer (<iq …/> or <iq …>…</iq>), skipping anything before it. */
  async iq(id: string, xml: string): Promise<string> {
    this.write(xml);
    const { text } = await this.expectWith(`iq ${id}`, iqFinder(id));
    const start = text.search(new RegExp(`<iq\\s[^>]*\\bid=(['"])${id}\\1`));
    return text.slice(start);
  }

  /** Everything received and not consumed by a waiter (e.g. a stream error that ended an idle session). */
  get unread(): string {
    return this.buf;
  }

  /** Ends the stream politely and resolves when the socket has closed (after at most `ms`). */
  closeAndWait(ms = 3000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((res) => {
      const t = setTimeout(() => {
        this.socket.destroy();
        res();
      }, ms);
      this.socket.once("close", () => {
        clearTimeout(t);
        res();
      });
      this.socket.end("</stream:stream>");
    });
  }

  write(data: string): boolean {
    return this.socket.write(data);
  }

  /** From now on, only count occurrences of a closing tag (e.g. "</message>"). */
  count(closingTag: string, cb: (n: number) => void): void {
    this.countTag = closingTag;
    this.counter = cb;
    if (this.buf) {
      const b = this.buf;
      this.buf = "";
      this.onData(Buffer.from(b, "latin1"));
    }
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

  private async scram(account: Account): Promise<void> {
    const x = new ScramExchange(account);
    this.write(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${x.first().toString("base64")}</auth>`);
    const ch = await this.expect("sasl-challenge", "</challenge>", "</failure>", "<failure/>");
    if (ch.marker !== "</challenge>") throw new LoginError("sasl-challenge", `auth refused: ${JSON.stringify(ch.text)}`);
    const m = /<challenge[^>]*>([^<]*)<\/challenge>$/.exec(ch.text);
    if (!m) throw new LoginError("sasl-challenge", `unreadable challenge: ${JSON.stringify(ch.text)}`);
    const final = x.final(Buffer.from(m[1]!, "base64").toString("utf8"), "sasl-challenge");
    this.write(`<response xmlns='${NS_SASL}'>${final.toString("base64")}</response>`);
    const ok = await this.expect("sasl-success", "</success>", "</failure>", "<failure/>", "<success/>");
    if (ok.marker !== "</success>") throw new LoginError("sasl-success", `login refused: ${JSON.stringify(ok.text)}`);
    const v = /<success[^>]*>([^<]*)<\/success>$/.exec(ok.text);
    if (!x.verify(Buffer.from(v?.[1] ?? "", "base64").toString("utf8"))) {
      throw new LoginError("sasl-success", `server signature does not verify: ${JSON.stringify(ok.text)}`);
    }
  }

  private static open(t: Target, resumeAs?: string): Conn {
    const session = resumeAs === undefined ? undefined : tlsSessions.get(resumeAs);
    const socket = t.starttls
      ? net.connect({ host: t.host, port: t.port })
      : tls.connect({ host: t.host, port: t.port, servername: "localhost", rejectUnauthorized: false, ALPNProtocols: ["xmpp-client"], session });
    if (resumeAs !== undefined) socket.on("session", (ticket: Buffer) => tlsSessions.set(resumeAs, ticket));
    socket.setNoDelay(true);
    return new Conn(socket);
  }

  /** Connects, authenticates and binds. Rejects (and destroys the socket) on any failure or after timeoutMs. */
  static async login(t: Target, account: Account, resource: string, timeoutMs = 15_000): Promise<Conn> {
    const c = Conn.open(t);
    const timer = setTimeout(() => {
      c.closeError ??= new Error(`timed out after ${timeoutMs} ms`);
      c.socket.destroy();
    }, timeoutMs);
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
      await c.scram(account);
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

  /**
   * Direct TLS (XEP-0368) + SASL2 <authenticate/> with <user-agent id/> (+ Bind2, + a FAST
   * token request) by SCRAM-SHA-256 (challenge / response), PLAIN or HT-SHA-256-NONE (FAST:
   * the initial response only). Resolves at <success/> (SASL2 has no stream restart; the
   * features that follow are left unread). Any <failure/> rejects with step "sasl2-failure".
   */
  static async sasl2(t: Target, account: Account, auth: Sasl2Auth, opts: Sasl2Options, timeoutMs = 15_000): Promise<Sasl2Login> {
    if (t.starttls) throw new Error("sasl2(): direct TLS only");
    const c = Conn.open(t, opts.resumeTls ? opts.clientId : undefined);
    const timer = setTimeout(() => {
      c.closeError ??= new Error(`timed out after ${timeoutMs} ms`);
      c.socket.destroy();
    }, timeoutMs);
    try {
      c.write(streamHeader(t.domain));
      const f = await c.expect("features", "</stream:features>");
      if (!f.text.includes(`<authentication xmlns='${NS_SASL2}'`)) throw new LoginError("features", `no SASL2 offered: ${JSON.stringify(f.text)}`);
      const scram = auth.mechanism === "SCRAM-SHA-256" ? new ScramExchange(account) : undefined;
      const initial =
        auth.mechanism === "SCRAM-SHA-256"
          ? scram!.first()
          : auth.mechanism === "PLAIN"
            ? Buffer.from(`\0${account.user}\0${account.password}`)
            : Buffer.concat([Buffer.from(account.user), Buffer.from([0]), htProof(auth.token, "Initiator")]);
      const extra =
        (opts.bindTag !== undefined ? `<bind xmlns='${NS_BIND2}'><tag>${opts.bindTag}</tag></bind>` : "") +
        (opts.requestToken ? `<request-token xmlns='${NS_FAST}' mechanism='HT-SHA-256-NONE'/>` : "") +
        (auth.mechanism === "HT-SHA-256-NONE" ? `<fast xmlns='${NS_FAST}'/>` : "");
      c.write(
        `<authenticate xmlns='${NS_SASL2}' mechanism='${auth.mechanism}'><initial-response>${initial.toString("base64")}</initial-response>` +
          `<user-agent id='${opts.clientId}'/>${extra}</authenticate>`,
      );
      let r = await c.expect("sasl2", "</challenge>", "</success>", "</failure>");
      if (r.marker === "</challenge>") {
        if (!scram) throw new LoginError("sasl2", `unexpected challenge: ${JSON.stringify(r.text)}`);
        const m = /<challenge[^>]*>([^<]*)<\/challenge>$/.exec(r.text);
        if (!m) throw new LoginError("sasl2", `unreadable challenge: ${JSON.stringify(r.text)}`);
        const final = scram.final(Buffer.from(m[1]!, "base64").toString("utf8"), "sasl2");
        c.write(`<response xmlns='${NS_SASL2}'>${final.toString("base64")}</response>`);
        r = await c.expect("sasl2", "</challenge>", "</success>", "</failure>");
      }
      if (r.marker === "</failure>") throw new LoginError("sasl2-failure", JSON.stringify(r.text.slice(r.text.lastIndexOf("<failure"))));
      if (r.marker !== "</success>") throw new LoginError("sasl2", `unexpected: ${JSON.stringify(r.text)}`);
      const success = r.text.slice(r.text.lastIndexOf("<success"));
      const ad = /<additional-data>([^<]*)<\/additional-data>/.exec(success)?.[1];
      if (scram && !scram.verify(Buffer.from(ad ?? "", "base64").toString("utf8"))) {
        throw new LoginError("sasl2", `server signature does not verify: ${JSON.stringify(success)}`);
      }
      if (auth.mechanism === "HT-SHA-256-NONE" && !(ad && Buffer.from(ad, "base64").equals(htProof(auth.token, "Responder")))) {
        throw new LoginError("sasl2", `FAST responder proof does not verify: ${JSON.stringify(success)}`);
      }
      if (opts.bindTag !== undefined && !success.includes("<bound")) throw new LoginError("sasl2", `no Bind2 <bound/> in ${JSON.stringify(success)}`);
      const tok = /<token\s[^>]*\btoken='([^']*)'/.exec(success)?.[1];
      if (opts.requestToken && !tok) throw new LoginError("sasl2", `no FAST token in ${JSON.stringify(success)}`);
      c.step = "authenticated";
      const tlsProtocol = (c.socket as tls.TLSSocket).getProtocol?.() ?? "?";
      const out: Sasl2Login = { conn: c, success, roundTrips: c.waits, tlsProtocol };
      if (tok) out.token = unescapeAttr(tok);
      return out;
    } catch (err) {
      c.socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
