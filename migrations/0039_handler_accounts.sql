-- Sign-in for people (issue 20 item 2, ADR 0029): handler accounts and their sessions.
--
-- The password hash carries its own scrypt parameters (password-hash.ts), so they can be raised
-- later without a migration. The TOTP secret is the shared key RFC 6238 needs; totp_last_step
-- is the newest 30 s step a code was accepted for, so a code is never accepted twice (replay).
CREATE TABLE handler_account (
  name           text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  role           text NOT NULL CHECK (role IN ('reader', 'handler', 'admin')),
  password_hash  text NOT NULL CHECK (length(password_hash) <= 500),
  totp_secret    text CHECK (length(totp_secret) <= 200),
  totp_last_step bigint,
  language       text NOT NULL CHECK (language IN ('ja', 'en')),
  disabled       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);

-- Only digests: the session id lives in the person's cookie, the CSRF token in the page; a copy
-- of this table signs nobody in. Removing an account ends its sessions with it (cascade).
CREATE TABLE handler_session (
  id_hash       text PRIMARY KEY,
  account_name  text NOT NULL REFERENCES handler_account (name) ON DELETE CASCADE,
  csrf_hash     text NOT NULL,
  created_at    timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX handler_session_account ON handler_session (account_name);
CREATE INDEX handler_session_expires ON handler_session (expires_at);
