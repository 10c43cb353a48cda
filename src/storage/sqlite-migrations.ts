// Schema history of the SQLite backend. PRAGMA user_version holds how many of these have been
// applied. Append only: never edit or reorder a migration that has shipped, because existing
// databases have already run it. Each entry runs in its own transaction with foreign_keys OFF
// (so a table rebuild per https://sqlite.org/lang_altertable.html#otheralter cannot cascade
// deletes), followed by PRAGMA foreign_key_check before commit.
//
// STRICT tables make SQLite reject a value of the wrong type instead of storing it silently.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    username            TEXT    NOT NULL PRIMARY KEY,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    roster_version      INTEGER NOT NULL DEFAULT 0
  ) STRICT;

  CREATE TABLE scram_credentials (
    username   TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    salt       BLOB    NOT NULL,
    iterations INTEGER NOT NULL CHECK (iterations > 0),
    stored_key BLOB    NOT NULL,
    server_key BLOB    NOT NULL,
    PRIMARY KEY (username, hash)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE roster_items (
    username     TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,
    name         TEXT,
    subscription TEXT    NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
    ask          TEXT    CHECK (ask IS NULL OR ask = 'subscribe'),
    pending_in   INTEGER NOT NULL DEFAULT 0 CHECK (pending_in IN (0, 1)),
    groups       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(groups)),
    PRIMARY KEY (username, jid)
  ) STRICT, WITHOUT ROWID;

  -- AUTOINCREMENT so ids are never reused: id order is arrival order even after deletes.
  CREATE TABLE offline_messages (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    stanza    TEXT    NOT NULL,
    stored_at INTEGER NOT NULL
  ) STRICT;
  -- Serves the per-user count (queue cap), popAll and the ON DELETE CASCADE lookup.
  CREATE INDEX offline_messages_by_user ON offline_messages(username, id);
  `,
  `
  CREATE TABLE grants (
    id          TEXT    NOT NULL PRIMARY KEY,
    username    TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    client_id   TEXT,
    created_at  INTEGER NOT NULL,
    accessed_at INTEGER NOT NULL,
    expires_at  INTEGER,
    data        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
  ) STRICT;
  CREATE INDEX grants_by_user ON grants (username, kind, client_id);

  CREATE TABLE tokens (
    hash        TEXT    NOT NULL PRIMARY KEY,
    grant_id    TEXT    NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    username    TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    role        TEXT,
    slot        TEXT    CHECK (slot IN ('new', 'cur')),
    mechanism   TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    secret      BLOB,
    last_count  INTEGER,
    data        TEXT    CHECK (data IS NULL OR json_valid(data))
  ) STRICT;
  CREATE INDEX tokens_by_grant ON tokens (grant_id);
  CREATE UNIQUE INDEX tokens_one_per_slot ON tokens (grant_id, slot) WHERE slot IS NOT NULL;
  `,
  `
  CREATE TABLE clients (
    username   TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    legacy     INTEGER NOT NULL CHECK (legacy IN (0, 1)),
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    full_jid   TEXT,
    mechanisms TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(mechanisms)),
    fast_auth  INTEGER,
    grant_id   TEXT,
    user_agent TEXT    CHECK (user_agent IS NULL OR json_valid(user_agent)),
    last_ip    TEXT,
    revoked_at INTEGER,
    PRIMARY KEY (username, id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX clients_by_jid ON clients (username, full_jid);
  CREATE INDEX clients_by_last_seen ON clients (last_seen);
  `,
  `
  -- The security history of each account (account page): new clients, revocations, password
  -- changes, failed logins (coalesced), kept for security_history_days.
  CREATE TABLE security_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    first_at  INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    ip        TEXT,
    count     INTEGER NOT NULL DEFAULT 1 CHECK (count > 0),
    data      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
  ) STRICT;
  CREATE INDEX security_events_by_user ON security_events (username, id);
  CREATE INDEX security_events_by_time ON security_events (at);
  `,
  `
  -- The message archive (XEP-0313). seq orders it (AUTOINCREMENT: never reused, so arrival
  -- order holds after purges); id is the opaque id clients see (RSM, XEP-0359 stanza-id).
  CREATE TABLE archive (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    with_jid      TEXT    NOT NULL,
    with_resource TEXT,
    at            INTEGER NOT NULL,
    stanza        TEXT    NOT NULL
  ) STRICT;
  -- RSM ids to positions; the per-user and per-contact pages; start/end to positions; the
  -- retention purge by time.
  CREATE UNIQUE INDEX archive_by_id ON archive (username, id);
  CREATE INDEX archive_by_user ON archive (username, seq);
  CREATE INDEX archive_by_with ON archive (username, with_jid, seq);
  CREATE INDEX archive_by_user_time ON archive (username, at, seq);
  CREATE INDEX archive_by_time ON archive (at);

  CREATE TABLE archive_prefs (
    username       TEXT NOT NULL PRIMARY KEY REFERENCES users(username) ON DELETE CASCADE,
    default_policy TEXT NOT NULL CHECK (default_policy IN ('always', 'never', 'roster')),
    always_jids    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(always_jids)),
    never_jids     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(never_jids))
  ) STRICT, WITHOUT ROWID;

  -- Which clients sync the archive (the client list); gone with the client record.
  CREATE TABLE archive_sync (
    username   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    last_query INTEGER NOT NULL,
    PRIMARY KEY (username, client_id),
    FOREIGN KEY (username, client_id) REFERENCES clients (username, id) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID;
  `,
];
