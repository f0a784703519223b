-- Introductions (issue 14 part 4): the web of trust behind the `introduced` assurance.
--
-- key_vouch: statements that a key is a team's. `introduction`: a peer.introduction document
-- another team signed (the voucher is that team); `roster`: a forum's signed roster lists the
-- key (the voucher is the forum id; the roster itself is kept by the forum module, so document
-- and signature are null). One row per (subject, fingerprint, kind, voucher): the newest
-- statement about it, exactly as received; a withdrawal sets withdrawn_at (a withdrawal that
-- arrives before the introduction it withdraws leaves a withdrawn row, so the late introduction,
-- stated earlier, is not applied). stated_at is when the voucher signed the statement (the
-- document's `created`): delivery may reorder two statements, signing may not.
--
-- The subject need not be a peer yet (an introduction may come before the team is added) and the
-- voucher may stop being one: no foreign keys. Whether a vouch counts is decided when the
-- subject's assurance is derived (src/modules/peers/key-assurance.ts), never stored here.
CREATE TABLE key_vouch (
  subject_team  text NOT NULL CHECK (subject_team ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  fingerprint   text NOT NULL CHECK (fingerprint ~ '^[0-9A-F]{40}$'),
  kind          text NOT NULL CHECK (kind IN ('introduction', 'roster')),
  voucher       text NOT NULL CHECK (voucher ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  -- The peer.introduction (or its withdrawal) as received: the message id, its RFC 8785 text
  -- (what the signature covers) and the detached signature.
  message_id    uuid,
  document      text,
  signature     text,
  vouches_for   text CHECK (char_length(vouches_for) BETWEEN 1 AND 500),
  stated_at     timestamptz(3) NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  withdrawn_at  timestamptz,
  PRIMARY KEY (subject_team, fingerprint, kind, voucher),
  CHECK ((document IS NULL) = (signature IS NULL)),
  CHECK (kind <> 'introduction' OR (document IS NOT NULL AND message_id IS NOT NULL))
);
-- A voucher that stops being verified or active: the teams it vouched for are derived again.
CREATE INDEX key_vouch_voucher ON key_vouch (voucher, kind);

-- The introductions this node sent: whom it told that a key is a team's, so a withdrawal
-- reaches each of them.
CREATE TABLE sent_introduction (
  subject_team          text NOT NULL CHECK (subject_team ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  fingerprint           text NOT NULL CHECK (fingerprint ~ '^[0-9A-F]{40}$'),
  recipient             text NOT NULL CHECK (recipient ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  message_id            uuid NOT NULL,
  vouches_for           text CHECK (char_length(vouches_for) BETWEEN 1 AND 500),
  sent_at               timestamptz NOT NULL,
  sent_by               text NOT NULL,
  withdrawn_at          timestamptz,
  -- Null on a withdrawn row when the recipient was no longer a peer to tell.
  withdrawal_message_id uuid,
  PRIMARY KEY (subject_team, fingerprint, recipient),
  CHECK (withdrawal_message_id IS NULL OR withdrawn_at IS NOT NULL)
);
