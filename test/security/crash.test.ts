// kill -9 of the server during writes of every kind, round after round (issue 10 §6): roster
// items (XMPP roster sets), offline messages (XMPP messages to an offline account), password
// changes (the account page's form) and revocations (`warden shell user revoke_client`, over
// the admin socket). A write counts as acknowledged when the server answered it: the roster
// set's result, a ping after the messages (RFC 6120 §10.1: in-order processing), the page's
// 303, the command's exit. After each kill the database passes `PRAGMA integrity_check` and
// holds every acknowledged write: an acknowledged password change stays (the old password no
// longer works), an acknowledged revocation stays revoked after the restart.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { WebClient, csrfOf } from "../helpers/account-web.js";
import { authenticateXml, plainInitialResponse, sasl2Stream, sasl2Result } from "../helpers/sasl2-client.js";

const ROUNDS = 5;
/** Each kind of write must have made this much progress in a round before the kill. */
const MIN_ROSTER = 15,
  MIN_MESSAGES = 60,
  MIN_PASSWORDS = 2,
  MIN_REVOKES = 3;
/** Clients made per round for the revocation writer to revoke. */
const CLIENTS_PER_ROUND = 12;

let srv: TestServer | undefined;
const open: RawClient[] = [];
after(async () => {
  for (const c of open) c.close();
  await srv?.kill();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(user: string, password: string, resource: string): Promise<RawClient> {
  const c = await RawClient.connect(srv!.c2sPort);
  open.push(c);
  await c.login(user, password, resource);
  return c;
}

/** PLAIN over STARTTLS: whether the server accepts this password. */
async function passwordWorks(user: string, password: string): Promise<boolean> {
  const c = await RawClient.connect(srv!.c2sPort);
  try {
    return await c.plainAuth(user, password, 15_000);
  } finally {
    c.close();
  }
}

/** A SASL2 login with a client id: "success" or the failure's condition. */
async function sasl2Login(user: string, password: string, id: string): Promise<string> {
  const { c } = await sasl2Stream(srv!.c2sPort);
  try {
    c.send(authenticateXml("PLAIN", plainInitialResponse(user, password), { userAgent: { id, software: "CrashTest" } }));
    const r = await sasl2Result(c);
    return r.name === "success" ? "success" : (r.children.find((ch) => ch.name !== "text")?.name ?? "failure");
  } finally {
    c.close();
  }
}

test(
  `kill -9 during roster, offline-message, password and revocation writes, ${ROUNDS} rounds: integrity_check ok and no acknowledged write lost`,
  { timeout: 600_000 },
  async (t) => {
    srv = new TestServer({ offline_message_limit: 100_000, oauth2_rate_limit: 1_000_000, login_failure_limit: 1_000_000 });
    await srv.start();
    const s = srv;
    for (const [u, pw] of [
      ["rosa", "rosa-secret"],
      ["writer", "writer-secret"],
      ["sleeper", "sleeper-secret"],
      ["pat", "pat-password-0"],
      ["rex", "rex-secret"],
    ] as const)
      await s.addUser(u, pw);

    const rosterAcked: string[] = [];
    const messagesAcked: string[] = [];
    const messagesSent: string[] = [];
    /** Passwords of pat in order; the last acknowledged one must work after each restart, the ones before it never again. */
    const passwords = ["pat-password-0"];
    let passwordInFlight: string | undefined;
    const revoked: string[] = [];
    const kept: string[] = [];
    let seq = 0;

    for (let round = 0; round < ROUNDS; round++) {
      // --- the writers ------------------------------------------------------------------------
      // Clients for this round's revocations (and one per round that is never revoked).
      const ids = Array.from({ length: CLIENTS_PER_ROUND }, (_, i) => `r${round}-c${i}`);
      for (const id of [...ids, `r${round}-keep`]) assert.equal(await sasl2Login("rex", "rex-secret", id), "success", `client ${id} logs in`);
      kept.push(`r${round}-keep`);

      const rosa = await connect("rosa", "rosa-secret", `r${round}`);
      const writer = await connect("writer", "writer-secret", `r${round}`);
      const web = new WebClient(`http://127.0.0.1:${s.httpPort}`);
      await web.signIn("pat", passwords.at(-1)!);

      let killed = false;
      const progress = { roster: 0, messages: 0, passwords: 0, revokes: 0 };
      const alive = () => !killed;
      /** Errors after the kill are the kill's doing; before it, they fail the test. */
      const guard = (p: Promise<void>) =>
        p.catch((err: unknown) => {
          if (!killed) throw err;
        });

      const rosterWriter = guard(
        (async () => {
          while (alive()) {
            const jid = `item${seq++}@localhost`;
            rosa.clear();
            rosa.send(`<iq type='set' id='rs-${jid}'><query xmlns='jabber:iq:roster'><item jid='${jid}' name='n-${jid}'/></query></iq>`);
            await rosa.waitFor(
              new RegExp(
                `type=['"]result['"][^>]*id=['"]rs-${jid.replace(/\./g, "\\.")}['"]|id=['"]rs-${jid.replace(/\./g, "\\.")}['"][^>]*type=['"]result['"]`,
              ),
              10_000,
            );
            rosterAcked.push(jid);
            progress.roster++;
          }
        })(),
      );

      const messageWriter = guard(
        (async () => {
          while (alive()) {
            const batch: string[] = [];
            let xml = "";
            for (let k = 0; k < 10; k++) {
              const id = `m${seq++}`;
              batch.push(id);
              xml += `<message to='sleeper@localhost' type='chat' id='${id}'><body>${id}</body></message>`;
            }
            messagesSent.push(...batch);
            writer.clear();
            writer.send(`${xml}<iq type='get' id='p-${batch[0]}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
            await writer.waitFor(new RegExp(`id=['"]p-${batch[0]}['"]`), 10_000);
            assert.doesNotMatch(writer.received, /type=['"]error['"]/, "a message to the offline account was refused");
            messagesAcked.push(...batch);
            progress.messages += batch.length;
          }
        })(),
      );

      const passwordWriter = guard(
        (async () => {
          while (alive()) {
            const page = await web.account();
            const next = `pat-password-${seq++}`;
            passwordInFlight = next;
            const r = await web.post("/account/password", {
              csrf: csrfOf(page),
              current_password: passwords.at(-1)!,
              new_password: next,
              confirm_password: next,
            });
            assert.equal(r.status, 303, `password change answered ${r.status}: ${r.text.slice(0, 300)}`);
            passwords.push(next);
            passwordInFlight = undefined;
            progress.passwords++;
          }
        })(),
      );

      const revokeWriter = guard(
        (async () => {
          for (const id of ids) {
            if (!alive()) return;
            const r = await s.cli(["shell", "user", "revoke_client", "rex", `client/${id}`]);
            if (killed) return; // answered or not, it raced the kill: neither acknowledged nor refused
            // 75: revoked, and the client knew the password (it logged in with it).
            assert.ok(r.code === 0 || r.code === 75, `revoke_client ${id}: ${r.code} ${r.stdout}${r.stderr}`);
            revoked.push(id);
            progress.revokes++;
          }
        })(),
      );

      // --- the kill, with every kind of write under way -----------------------------------------
      const deadline = Date.now() + 60_000;
      while (progress.roster < MIN_ROSTER || progress.messages < MIN_MESSAGES || progress.passwords < MIN_PASSWORDS || progress.revokes < MIN_REVOKES) {
        assert.ok(Date.now() < deadline, `round ${round}: not enough progress before the kill: ${JSON.stringify(progress)}`);
        await sleep(20);
      }
      await sleep(Math.floor(Math.random() * 100));
      killed = true;
      await s.kill();
      await Promise.all([rosterWriter, messageWriter, passwordWriter, revokeWriter]);
      for (const c of open.splice(0)) c.close();
      t.diagnostic(`round ${round}: killed after ${JSON.stringify(progress)}`);

      // --- after the restart: the database is whole and holds every acknowledged write ------------
      await s.start();
      const db = new Database(join(s.dataDir, "data", "warden.sqlite"), { readonly: true, fileMustExist: true });
      let stored: Set<string>;
      try {
        assert.equal(db.pragma("integrity_check", { simple: true }), "ok", `round ${round}: integrity_check`);
        const rows = db.prepare("SELECT stanza FROM offline_messages WHERE username = ?").pluck().all("sleeper") as string[];
        stored = new Set(rows.map((x) => /<body>(m\d+)<\/body>/.exec(x)?.[1] ?? "?"));
      } finally {
        db.close();
      }
      const lostMessages = messagesAcked.filter((id) => !stored.has(id));
      assert.deepEqual(lostMessages, [], `round ${round}: acknowledged offline messages lost`);
      assert.ok(stored.size <= messagesSent.length, "no message that was never sent");

      const check = await connect("rosa", "rosa-secret", `check${round}`);
      check.send("<iq type='get' id='roster-get'><query xmlns='jabber:iq:roster'/></iq>");
      const roster = await check.waitFor(/<iq[^>]*id=['"]roster-get['"][\s\S]*?<\/iq>/, 10_000);
      const lostItems = rosterAcked.filter((jid) => !roster[0].includes(`jid='${jid}'`) && !roster[0].includes(`jid="${jid}"`));
      assert.deepEqual(lostItems, [], `round ${round}: acknowledged roster items lost`);
      check.close();

      // The last acknowledged password, or the one in flight at the kill (it may have committed).
      const acked = passwords.at(-1)!;
      const works = await passwordWorks("pat", acked);
      if (!works) {
        assert.ok(
          passwordInFlight && (await passwordWorks("pat", passwordInFlight)),
          `round ${round}: neither the acknowledged password nor the one in flight works`,
        );
        passwords.push(passwordInFlight);
      }
      passwordInFlight = undefined;
      assert.equal(await passwordWorks("pat", passwords.at(-2)!), false, `round ${round}: a password replaced by an acknowledged change works again`);

      for (const id of revoked) assert.notEqual(await sasl2Login("rex", "rex-secret", id), "success", `round ${round}: revoked client ${id} logs in again`);
      assert.equal(await sasl2Login("rex", "rex-secret", kept.at(-1)!), "success", "a client that was never revoked still logs in (control)");
    }
    t.diagnostic(
      `acknowledged: ${rosterAcked.length} roster items, ${messagesAcked.length} offline messages, ${passwords.length - 1} password changes, ${revoked.length} revocations`,
    );
    await srv.stop();
  },
);
