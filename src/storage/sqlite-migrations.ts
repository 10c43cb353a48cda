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
  -- Personal Eventing (XEP-0163): each account's PEP nodes, and their items, newest by seq.
  CREATE TABLE pep_nodes (
    owner      TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    node       TEXT    NOT NULL,
    config     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
    PRIMARY KEY (owner, node)
  ) STRICT;

  CREATE TABLE pep_items (
    owner        TEXT    NOT NULL,
    node         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    payload      TEXT    NOT NULL,
    publisher    TEXT,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (owner, node, id),
    FOREIGN KEY (owner, node) REFERENCES pep_nodes(owner, node) ON DELETE CASCADE
  ) STRICT;
  CREATE INDEX pep_items_by_seq ON pep_items (owner, node, seq);
  `,
  `
  -- Small XML documents of an account (the vCard of XEP-0054, private XML of XEP-0049), and
  -- the JIDs it blocks (XEP-0191). The primary keys serve every query (by account, kind, key).
  CREATE TABLE account_documents (
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    xml      TEXT NOT NULL,
    PRIMARY KEY (username, kind, key)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE blocklist (
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    jid      TEXT NOT NULL,
    PRIMARY KEY (username, jid)
  ) STRICT, WITHOUT ROWID;
  -- Who blocks a given JID: looked up when one of its sessions binds.
  CREATE INDEX blocklist_by_jid ON blocklist (jid);
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
  `
  -- HTTP file upload (XEP-0363): a slot until its file is stored (uploaded_at), then the file's
  -- record until expires_at. The file itself is data_path/uploads/<id>.
  CREATE TABLE uploads (
    id              TEXT    NOT NULL PRIMARY KEY,
    username        TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    client_id       TEXT,
    filename        TEXT    NOT NULL,
    size            INTEGER NOT NULL CHECK (size > 0),
    content_type    TEXT    NOT NULL,
    token_hash      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    slot_expires_at INTEGER NOT NULL,
    put_started_at  INTEGER,
    revoked         INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    uploaded_at     INTEGER,
    expires_at      INTEGER NOT NULL
  ) STRICT;
  -- The daily quota, the per-client holdings and the revocation of a client's slots.
  CREATE INDEX uploads_by_user ON uploads (username, created_at);
  CREATE INDEX uploads_by_client ON uploads (username, client_id);
  CREATE INDEX uploads_by_expiry ON uploads (expires_at);
  CREATE INDEX uploads_by_slot_expiry ON uploads (slot_expires_at) WHERE uploaded_at IS NULL;
  `,
  `
  -- Push registrations (XEP-0357), one per client: gone with the account, and with the client's
  -- record when that is purged (client_retention_days).
  CREATE TABLE push_registrations (
    username   TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    jid        TEXT    NOT NULL,
    node       TEXT    NOT NULL,
    options    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(options)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (username, client_id),
    FOREIGN KEY (username, client_id) REFERENCES clients(username, id) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX push_registrations_by_service ON push_registrations (username, jid, node);
  `,
  `
  -- Invitations (XEP-0401, XEP-0445, XEP-0379): the SHA-256 of each token, never the token.
  -- An account invitation names no account; a reset or contact invitation dies with its account.
  CREATE TABLE invites (
    hash       TEXT    NOT NULL PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL CHECK (kind IN ('account', 'reset', 'roster')),
    username   TEXT    REFERENCES users(username) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK ((kind = 'account') = (username IS NULL))
  ) STRICT;
  CREATE INDEX invites_by_user ON invites (username);
  CREATE INDEX invites_by_expiry ON invites (expires_at);
  `,
];
