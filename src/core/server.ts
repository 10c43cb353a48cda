// The kernel: configuration, storage, the bus, the session registry, the router and the c2s
// listeners. It knows no feature: the composition root (src/app/compose.ts) hands it the
// features and the implementations of shared state, and start() sets the features up in the
// order their declarations allow (src/core/feature.ts).
import net from "node:net";
import tls from "node:tls";
import { pino, type Logger } from "pino";
import type { Config } from "./config.js";
import { Bus } from "./bus.js";
import type { SessionRegistry } from "./registry.js";
import { Router } from "./router.js";
import type { Session } from "./session.js";
import { ClientStream } from "./stream.js";
import { SocketTransport, type Transport } from "./transport.js";
import { streamErrors, streamErrorElement, type StreamErrorDef } from "./errors.js";
import { loadOrCreateIdentity, type TlsIdentity } from "./certificate.js";
import { checkIdentity } from "./certificate-check.js";
import { secureDataDir, privateUmask, octal } from "./data-dir.js";
import { lockDataDir } from "./instance-lock.js";
import type { Storage } from "../storage/types.js";
import { listen } from "./listen.js";
import { tlsAccept, tlsAcceptServer, type TlsAcceptOptions } from "./tls-accept.js";
import { ServiceRegistry } from "./services.js";

export interface ServerOptions {
  config: Config;
  log?: Logger;
  /** Opens the database (after the data directory is locked). */
  openStorage: () => Promise<Storage>;
  /** Where bound sessions are registered: this process's memory, or a cluster's. */
  registry: SessionRegistry;
  /** In the order to set them up (the composition root orders them: src/core/feature.ts). */
  features: readonly ServerFeature[];
}

/** Stops what a feature started (timers, listeners); awaited in reverse order at server stop. */
export type Stop = () => void | Promise<void>;

/** What the kernel needs to know of a feature: src/core/feature.ts says what one declares. */
export interface ServerFeature {
  readonly name: string;
  /** Services it provides (with server.services.provide) during its setup. */
  readonly provides?: readonly string[];
  setup(server: Server): void | Stop | Promise<void | Stop>;
}

export interface ListenerInfo {
  kind: "starttls" | "directtls";
  address: string;
  port: number;
}

export class Server {
  readonly config: Config;
  readonly log: Logger;
  readonly bus = new Bus();
  readonly registry: SessionRegistry;
  readonly router = new Router(this);
  /** What the features provide one another (src/core/services.ts). */
  readonly services = new ServiceRegistry();
  storage!: Storage;
  identity!: TlsIdentity;
  secureContext!: tls.SecureContext;
  readonly listeners: ListenerInfo[] = [];
  private readonly servers: net.Server[] = [];
  /** Every open stream, authenticated or not, and every hibernating (XEP-0198) session. */
  readonly streams = new Set<Session>();
  private readonly perIp = new Map<string, number>();
  /** TLS handshakes in progress (direct TLS and HTTPS ports): counted from accept, like streams. */
  private handshakes = 0;
  private readonly handshaking = new Map<string, number>();
  /** Disco#info features of the server (XEP-0030), added by the features that implement them. */
  readonly hostFeatures = new Set<string>();
  /** Disco#info features of every account's bare JID. */
  readonly accountFeatures = new Set<string>();
  /**
   * Local service domains (Prosody's components: a SOCKS5 proxy, group chat…), added by the
   * features that serve them during setup. The router sends stanzas for them to the
   * `<stanza>/component` events instead of bouncing them as remote (src/core/router.ts).
   */
  readonly componentDomains = new Set<string>();
  private readonly stoppers: Stop[] = [];
  private readonly features: readonly ServerFeature[];
  private unlock: (() => void) | undefined;

  constructor(private readonly opts: ServerOptions) {
    this.config = opts.config;
    this.log = opts.log ?? pino({ level: this.config.log_level });
    this.registry = opts.registry;
    this.features = opts.features;
  }

  async start(): Promise<void> {
    privateUmask();
    for (const t of secureDataDir(this.config.data_path)) {
      this.log.warn(
        { path: t.path, mode: octal(t.from), now: octal(t.to) },
        t.to === t.from ? "readable by other users, and could not be tightened" : "was readable by other users; tightened",
      );
    }
    // Before the database and any port: a second server on this directory stops here.
    this.unlock = lockDataDir(this.config.data_path);
    this.storage = await this.opts.openStorage();
    this.identity = await loadOrCreateIdentity({
      certificate: this.config.certificate,
      key: this.config.key,
      dataPath: this.config.data_path,
      domain: this.config.domain,
    });
    for (const w of checkIdentity(this.identity, this.config.domain)) this.log.warn(w);
    if (this.identity.generated)
      this.log.warn({ certificate: this.identity.certPath }, "generated a self-signed certificate; configure 'certificate' and 'key' for production");
    else this.log.info({ certificate: this.identity.certPath }, "using certificate");
    this.useIdentity(this.identity);
    for (const feature of this.features) {
      const stop = await feature.setup(this);
      if (typeof stop === "function") this.stoppers.push(stop);
      for (const name of feature.provides ?? []) {
        if (!this.services.has(name)) throw new Error(`the feature '${feature.name}' did not provide the service '${name}' it declares`);
      }
    }
    for (const host of this.config.c2s_interfaces) {
      for (const port of this.config.c2s_ports) await this.listenC2s(host, port, false);
      for (const port of this.config.c2s_direct_tls_ports) await this.listenC2s(host, port, true);
    }
    await this.bus.emit("server-started", {});
  }

  /**
   * Makes `id` the certificate of every new TLS connection (STARTTLS, direct TLS, HTTPS: all of
   * them take `secureContext` at accept, src/core/tls-accept.ts); open ones keep theirs.
   */
  useIdentity(id: TlsIdentity): void {
    this.identity = id;
    this.secureContext = tls.createSecureContext({ cert: id.cert, key: id.key, minVersion: "TLSv1.2" });
  }

  private async listenC2s(host: string, port: number, directTls: boolean): Promise<void> {
    const srv = directTls ? this.tlsServer(["xmpp-client"], (s) => this.accept(s)) : net.createServer((s) => this.accept(s));
    this.servers.push(srv);
    const addr = await listen(srv, port, host);
    this.listeners.push({ kind: directTls ? "directtls" : "starttls", address: addr.address, port: addr.port });
    this.log.info({ address: addr.address, port: addr.port, tls: directTls ? "direct" : "starttls" }, "c2s listening");
  }

  private accept(socket: net.Socket): void {
    const ip = socket.remoteAddress ?? "unknown";
    if (!this.admits(ip)) {
      // No session for it, so the refusal is written here: a header, the catalogue's error, the end.
      socket.end(
        `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>${streamErrorElement(streamErrors.tooManyConnections)}</stream:stream>`,
      );
      return;
    }
    const limits = { handshakeTimeoutMs: this.config.c2s_tls_handshake_timeout * 1000, sendBufferLimit: this.config.c2s_send_buffer_limit };
    this.openStream(new SocketTransport(socket, socket instanceof tls.TLSSocket ? undefined : this.secureContext, limits), ip);
  }

  /** Whether one more connection from this address is within the limits. */
  admits(ip: string): boolean {
    return this.streams.size + this.handshakes < this.config.c2s_max_connections && (this.perIp.get(ip) ?? 0) < this.config.c2s_max_connections_per_ip;
  }

  /**
   * A direct-TLS c2s listener whose connections count against the limits from their TCP accept
   * and whose handshake ends at c2s_tls_handshake_timeout (src/core/tls-accept.ts).
   */
  tlsServer(alpn: string[], onSecure: (s: tls.TLSSocket) => void): net.Server {
    return tlsAcceptServer(this.tlsAcceptOptions(alpn, onSecure, (ip) => this.admits(ip)));
  }

  /**
   * The same as a 'connection' listener, for the HTTPS port. Its handshakes count as well, but
   * are refused only past the limits of handshakes in progress: an address at its stream limit
   * still reaches the web pages, and a WebSocket over the limit is told why (a stream error).
   */
  tlsAccept(alpn: string[], onSecure: (s: tls.TLSSocket) => void): (raw: net.Socket) => void {
    return tlsAccept(
      this.tlsAcceptOptions(
        alpn,
        onSecure,
        (ip) =>
          this.streams.size + this.handshakes < this.config.c2s_max_connections && (this.handshaking.get(ip) ?? 0) < this.config.c2s_max_connections_per_ip,
      ),
    );
  }

  private tlsAcceptOptions(alpn: string[], onSecure: (s: tls.TLSSocket) => void, admits: (ip: string) => boolean): TlsAcceptOptions {
    const add = (m: Map<string, number>, ip: string, d: number) => {
      const n = (m.get(ip) ?? 0) + d;
      if (n <= 0) m.delete(ip);
      else m.set(ip, n);
    };
    return {
      secureContext: () => this.secureContext,
      ALPNProtocols: alpn,
      handshakeTimeoutMs: this.config.c2s_tls_handshake_timeout * 1000,
      admit: (ip) => {
        if (!admits(ip)) return undefined;
        this.handshakes++;
        add(this.handshaking, ip, 1);
        add(this.perIp, ip, 1);
        return () => {
          this.handshakes--;
          add(this.handshaking, ip, -1);
          add(this.perIp, ip, -1);
        };
      },
      onSecure,
    };
  }

  /** Starts a client stream on a transport (TCP, TLS or WebSocket) that `admits` let in. */
  openStream(transport: Transport, ip: string): Session {
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    const session = new ClientStream(this, transport, ip);
    this.streams.add(session);
    return session;
  }

  /** Called by a session exactly once when it ends, however it ends. */
  sessionClosed(session: Session, error: StreamErrorDef | undefined, abrupt: boolean): void {
    if (this.streams.delete(session)) this.releaseIp(session);
    if (session.bound) this.registry.remove(session);
    void this.bus.emit("session-closed", { session, error, abrupt }, (err) => this.log.error({ err }, "session-closed handler failed"));
  }

  private releaseIp(session: Session): void {
    const ip = session.ip;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  /**
   * XEP-0198 resumption (Session.takeOver): `resumed` (a hibernating session, which stays in
   * `streams` until it ends) takes over `fresh`'s connection and with it `fresh`'s place and
   * per-IP count; `fresh` leaves without a session-closed event.
   */
  handOverStream(fresh: Session, resumed: Session): void {
    if (this.streams.delete(resumed)) this.releaseIp(resumed);
    this.streams.delete(fresh);
    resumed.ip = fresh.ip;
    this.streams.add(resumed);
  }

  /**
   * Stops accepting, ends every stream with <system-shutdown/> (RFC 6120 §4.9.3.20), lets the
   * features finish (stream management stores what was not acknowledged), waits briefly for
   * the goodbyes to leave, closes the database and gives the data directory's lock back.
   * Safe after a start that failed half-way.
   */
  async stop(): Promise<void> {
    const listenersClosed = this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve())));
    // Out of the registry first, all of them: a closing session's unacknowledged messages (and
    // anything still in flight) then find no resource to go to and are stored offline, instead
    // of being handed to another resource that is closing too.
    for (const s of [...this.registry.all()]) this.registry.remove(s);
    for (const s of [...this.streams]) s.close(streamErrors.shutdown);
    for (const stop of this.stoppers.reverse()) await stop();
    await this.bus.emit("server-stopping", {});
    // Time for the goodbyes to leave; every connection is gone within 2 s of its end anyway (SocketTransport.end).
    await Promise.race([Promise.all(listenersClosed), new Promise((resolve) => setTimeout(resolve, 2500).unref())]);
    await this.storage?.close();
    this.unlock?.();
  }
}
