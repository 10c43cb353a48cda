// `warden check [--config FILE] [--json]`, after `prosodyctl check`: reads the setup the way the
// server would and says, one line per finding, what is fine (OK), what will work but deserves a
// look (warning) and what will not work or exposes data (problem). Exit 0 without problems,
// cliErrors.checkProblems (1) with any. Nothing is changed and nothing is started.
import net from "node:net";
import tls from "node:tls";
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync, readdirSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import { Resolver, lookup } from "node:dns/promises";
import { loadConfig, adminSocketPath, ConfigError, type Config } from "../core/config.js";
import { adminRequest } from "../admin/client.js";
import { cliErrors } from "./errors.js";

export type Level = "ok" | "warning" | "problem";
export interface Finding {
  check: string;
  level: Level;
  message: string;
}

type Report = (level: Level, message: string) => void;

/** Certificates expiring within this many days get a warning (ACME clients renew at 30). */
const EXPIRY_WARNING_DAYS = 30;
const DAY = 86400_000;

// --- configuration -----------------------------------------------------------------------------

function checkConfig(path: string | undefined, say: Report): Config | undefined {
  try {
    const cfg = loadConfig(path);
    say("ok", path ? `${path} is valid (domain ${cfg.domain})` : `no configuration file: the defaults apply (domain ${cfg.domain})`);
    return cfg;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say("problem", err.message);
    return undefined;
  }
}

// --- certificate -------------------------------------------------------------------------------

function pemCertificates(text: string): X509Certificate[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
}

const issuedBy = (cert: X509Certificate, issuer: X509Certificate) => cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
const cn = (name: string) => /CN=([^\n]+)/.exec(name)?.[1] ?? name.replace(/\n/g, ", ");

function readText(path: string, what: string, say: Report): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    say("problem", `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
}

function checkCertificate(cfg: Config, say: Report, now = Date.now()): void {
  const generated = !cfg.certificate;
  const certPath = cfg.certificate ?? join(cfg.data_path, "certs", `${cfg.domain}.crt`);
  const keyPath = cfg.key ?? join(cfg.data_path, "certs", `${cfg.domain}.key`);
  if (generated && !exists(certPath)) {
    say(
      "warning",
      `none configured: a self-signed certificate for ${cfg.domain} will be generated at ${certPath}; clients must be told to trust it (set 'certificate' and 'key' for production)`,
    );
    return;
  }
  const certText = readText(certPath, "certificate", say);
  const keyText = readText(keyPath, "key", say);
  if (certText === undefined) return;
  let chain: X509Certificate[];
  try {
    chain = pemCertificates(certText);
  } catch (err) {
    say("problem", `${certPath} holds a certificate that cannot be parsed: ${(err as Error).message}`);
    return;
  }
  if (chain.length === 0) {
    say("problem", `${certPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return;
  }
  const leaf = chain[0]!;

  const notAfter = new Date(leaf.validTo).getTime(),
    notBefore = new Date(leaf.validFrom).getTime();
  if (notAfter <= now) say("problem", `${certPath} expired on ${new Date(notAfter).toISOString()}`);
  else if (notBefore > now) say("problem", `${certPath} is not valid before ${new Date(notBefore).toISOString()}`);
  else if (notAfter - now < EXPIRY_WARNING_DAYS * DAY)
    say("warning", `${certPath} expires in ${Math.floor((notAfter - now) / DAY)} days (${new Date(notAfter).toISOString()})`);
  else say("ok", `${certPath} is valid until ${new Date(notAfter).toISOString().slice(0, 10)}`);

  if (leaf.checkHost(cfg.domain) === undefined)
    say("problem", `${certPath} is not valid for ${cfg.domain} (it names ${leaf.subjectAltName ?? cn(leaf.subject)})`);
  else say("ok", `${certPath} covers ${cfg.domain}`);

  if (keyText !== undefined) {
    let key: KeyObject | undefined;
    try {
      key = createPrivateKey(keyText);
    } catch {
      say("problem", `${keyPath} is not a PEM private key (or is encrypted)`);
    }
    if (key) {
      if (leaf.checkPrivateKey(key)) say("ok", `${keyPath} matches the certificate`);
      else say("problem", `the key ${keyPath} does not match the certificate ${certPath}`);
    }
  }

  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i]!, chain[i + 1]!)) {
      say(
        "problem",
        `${certPath}: certificate ${i + 1} (${cn(chain[i]!.subject)}) is not issued by the next one in the file (${cn(chain[i + 1]!.subject)}); the chain must go from the server's certificate up`,
      );
      return;
    }
  }
  const last = chain[chain.length - 1]!;
  if (issuedBy(last, last)) {
    if (chain.length === 1) say("warning", `${certPath} is self-signed: clients must be told to trust it`);
    else say("ok", `${certPath}: chain of ${chain.length} up to ${cn(last.subject)}`);
    return;
  }
  const root = tls.rootCertificates.map((pem) => new X509Certificate(pem)).find((r) => issuedBy(last, r));
  if (root) say("ok", `${certPath}: chain of ${chain.length} up to the trusted root ${cn(root.subject)}`);
  else
    say(
      "warning",
      `${certPath}: the issuer ${cn(last.issuer)} is neither in the file nor among the system's trusted roots; add the intermediate certificates after the server's, or clients may not trust it`,
    );
}

// --- ports -------------------------------------------------------------------------------------

interface Running {
  pid?: number;
  ports: Set<number>;
}

/** The running server of this configuration, asked over its admin socket; undefined when none answers. */
async function runningServer(cfg: Config): Promise<Running | undefined> {
  const reply = await adminRequest(adminSocketPath(cfg), { op: "status" }, 3000).catch(() => undefined);
  if (!reply?.ok) return undefined;
  const r = reply.result as { pid?: number; listeners?: Array<{ port: number }>; http?: Array<{ port: number }> };
  return { pid: r.pid, ports: new Set([...(r.listeners ?? []), ...(r.http ?? [])].map((l) => l.port)) };
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

async function checkPorts(cfg: Config, say: Report): Promise<void> {
  const wanted: Array<{ what: string; host: string; port: number }> = [];
  const add = (what: string, hosts: string[], ports: number[]) => {
    for (const host of hosts) for (const port of ports) wanted.push({ what, host, port });
  };
  add("c2s (STARTTLS)", cfg.c2s_interfaces, cfg.c2s_ports);
  add("c2s (direct TLS)", cfg.c2s_interfaces, cfg.c2s_direct_tls_ports);
  add("HTTP", cfg.http_interfaces, cfg.http_ports);
  add("HTTPS", cfg.https_interfaces, cfg.https_ports);
  let running: Running | undefined | null = null; // null: not asked yet
  for (const { what, host, port } of wanted) {
    const where = `${what} ${host.includes(":") ? `[${host}]` : host}:${port}`;
    if (port === 0) {
      say("ok", `${where}: any free port`);
      continue;
    }
    const err = await tryListen(host, port);
    if (!err) {
      say("ok", `${where} is free`);
      continue;
    }
    if (err.code === "EADDRINUSE") {
      if (running === null) running = await runningServer(cfg);
      if (running?.ports.has(port)) say("ok", `${where} is held by this server (running, pid ${running.pid ?? "?"})`);
      else say("problem", `${where} is in use by another process${running ? " (not by this server, which is running without it)" : ""}`);
    } else if (err.code === "EACCES") {
      say("problem", `${where}: not allowed to listen there (ports below 1024 need privileges)`);
    } else if (err.code === "EADDRNOTAVAIL") {
      say("problem", `${where}: the address is not on this machine`);
    } else {
      say("problem", `${where}: cannot listen (${err.code ?? err.message})`);
    }
  }
}

// --- data directory ----------------------------------------------------------------------------

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

const mode = (st: Stats) => "0" + (st.mode & 0o777).toString(8);

function checkDataDir(cfg: Config, say: Report): void {
  const dir = cfg.data_path;
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      say("ok", `${dir} does not exist yet: it is created at first start`);
      return;
    }
    say("problem", `cannot read ${dir}: ${(err as NodeJS.ErrnoException).code}`);
    return;
  }
  if (!st.isDirectory()) {
    say("problem", `${dir} is not a directory`);
    return;
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    say("warning", `${dir} is owned by uid ${st.uid}, not by the user running this check (uid ${uid}); the server must run as its owner`);
  if (st.mode & 0o007) say("problem", `${dir} has mode ${mode(st)}: other users can enter it; run chmod 700 ${dir}`);
  else if (st.mode & 0o070) say("warning", `${dir} has mode ${mode(st)}: its group can enter it; run chmod 700 ${dir}`);
  else say("ok", `${dir} has mode ${mode(st)}`);

  // Which files another user or the group could read, given every directory on the way.
  const world: string[] = [],
    group: string[] = [],
    foreign: string[] = [];
  let seen = 0;
  const walk = (path: string, worldIn: boolean, groupIn: boolean, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) {
      if (++seen > 10_000) return;
      const p = join(path, name);
      let s: Stats;
      try {
        s = statSync(p);
      } catch {
        continue;
      }
      if (uid !== undefined && s.uid !== uid) foreign.push(p);
      if (s.isDirectory()) {
        if (depth < 4) walk(p, worldIn && !!(s.mode & 0o001), groupIn && !!(s.mode & 0o010), depth + 1);
      } else if (s.isFile()) {
        if (worldIn && s.mode & 0o004) world.push(p);
        else if (groupIn && s.mode & 0o040) group.push(p);
      }
    }
  };
  walk(dir, !!(st.mode & 0o001), !!(st.mode & 0o010), 0);
  const list = (files: string[]) => files.slice(0, 5).join(", ") + (files.length > 5 ? ` and ${files.length - 5} more` : "");
  if (world.length) say("problem", `files other users can read: ${list(world)}`);
  if (group.length) say("warning", `files the group can read: ${list(group)}`);
  if (foreign.length) say("warning", `files owned by another user: ${list(foreign)}`);
  if (!world.length && !group.length) say("ok", `no file in ${dir} is readable by other users`);
}

// --- DNS ---------------------------------------------------------------------------------------

function dnsFailure(err: unknown): { missing: boolean; text: string } {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (code === "ENOTFOUND" || code === "ENODATA") return { missing: true, text: `could not be resolved: no such record (${code})` };
  return { missing: false, text: `could not be resolved (${code || (err as Error).message})` };
}

async function checkDns(cfg: Config, say: Report): Promise<void> {
  const domain = cfg.domain;
  if (domain === "localhost" || domain.endsWith(".localhost")) {
    const a = await lookup(domain, { all: true }).catch(() => []);
    say("ok", `${domain} is local (${a.map((x) => x.address).join(", ") || "no address"}): no DNS records are needed`);
    return;
  }
  // Short timeouts: an offline machine should hear "could not be resolved" in seconds.
  const dns = new Resolver({ timeout: 3000, tries: 1 });

  const srv = async (name: string, ports: number[], needed: boolean, purpose: string) => {
    try {
      const records = await dns.resolveSrv(name);
      const text = records.map((r) => `${r.name}:${r.port}`).join(", ");
      const stray = records.filter((r) => r.port !== 0 && !ports.includes(r.port));
      if (stray.length && ports.length)
        say("warning", `${name} → ${text}: port ${stray.map((r) => r.port).join(", ")} is not one this server listens on (${ports.join(", ")})`);
      else say("ok", `${name} → ${text}`);
      return true;
    } catch (err) {
      const f = dnsFailure(err);
      if (f.missing) say(needed ? "warning" : "ok", `${name}: ${f.text}${needed ? ` (${purpose})` : ""}`);
      else say("warning", `${name} ${f.text}`);
      return false;
    }
  };
  const clientSrv = await srv(`_xmpp-client._tcp.${domain}`, cfg.c2s_ports, true, `clients then try ${domain}:5222`);
  await srv(
    `_xmpps-client._tcp.${domain}`,
    cfg.c2s_direct_tls_ports,
    cfg.c2s_direct_tls_ports.length > 0,
    "clients will not find the direct TLS port (XEP-0368)",
  );
  try {
    const records = await dns.resolveSrv(`_xmpp-server._tcp.${domain}`);
    say(
      "warning",
      `_xmpp-server._tcp.${domain} → ${records.map((r) => `${r.name}:${r.port}`).join(", ")}, but Warden does not federate: other servers will find no one there`,
    );
  } catch (err) {
    const f = dnsFailure(err);
    say(f.missing ? "ok" : "warning", `_xmpp-server._tcp.${domain}: ${f.missing ? "none (Warden does not federate)" : f.text}`);
  }

  const addresses: string[] = [];
  for (const [kind, query] of [
    ["A", () => dns.resolve4(domain)],
    ["AAAA", () => dns.resolve6(domain)],
  ] as const) {
    try {
      const list = await query();
      addresses.push(...list);
      say("ok", `${domain} ${kind} → ${list.join(", ")}`);
    } catch (err) {
      const f = dnsFailure(err);
      say("warning", `${domain} ${kind}: ${f.text}`);
    }
  }
  // Only warnings: from an offline machine, or before the records are published, DNS cannot tell.
  if (!clientSrv && addresses.length === 0)
    say("warning", `clients cannot find ${domain} through DNS from here: no _xmpp-client._tcp SRV record and no A or AAAA record could be resolved`);
}

// --- the command -------------------------------------------------------------------------------

export async function runChecks(configPath: string | undefined): Promise<Finding[]> {
  const findings: Finding[] = [];
  const reporter =
    (check: string): Report =>
    (level, message) => {
      findings.push({ check, level, message });
    };
  const cfg = checkConfig(configPath, reporter("config"));
  if (!cfg) return findings;
  checkCertificate(cfg, reporter("certificate"));
  await checkPorts(cfg, reporter("ports"));
  checkDataDir(cfg, reporter("data"));
  await checkDns(cfg, reporter("dns"));
  return findings;
}

const LABEL: Record<Level, string> = { ok: "OK", warning: "Warning", problem: "Problem" };

export async function check(configPath: string | undefined, json: boolean): Promise<number> {
  const findings = await runChecks(configPath);
  const problems = findings.filter((f) => f.level === "problem").length;
  const warnings = findings.filter((f) => f.level === "warning").length;
  if (json) {
    console.log(JSON.stringify({ ok: problems === 0, problems, warnings, checks: findings }, null, 2));
  } else {
    for (const f of findings) console.log(`${LABEL[f.level].padEnd(8)} ${f.check}: ${f.message}`);
  }
  if (problems === 0) return 0;
  process.stderr.write(`warden: ${cliErrors.checkProblems.text}: ${problems} (and ${warnings} warnings)\n`);
  return cliErrors.checkProblems.code;
}
