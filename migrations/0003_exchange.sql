-- Federation exchange (issue 3): what this node sent to peers (outbox, feed), what it received
-- (inbox, quarantine), how its incidents are linked to the peers' copies, investigations, and
-- the token requests it has seen. docs/federation-protocol.md describes the protocol.

-- An incident of ours linked to a peer's copy: we shared it (outgoing), or the peer shared it
-- with us (incoming). Links are two-way: later changes travel along them in both directions.
-- The references to peer keep a peer that incidents were exchanged with from being removed (it
-- can be suspended instead): its links, messages and receipts stay attributable.
CREATE TABLE incident_link (
  incident_id        uuid NOT NULL REFERENCES incident (id) ON DELETE RESTRICT,
  peer_team          text NOT NULL REFERENCES peer (team_id) ON DELETE RESTRICT,
  direction          text NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
  -- The peer's reference number: from its receipt (outgoing) or from its report (incoming).
  peer_ref           text,
  -- Outgoing: the incident.report message that carries the share (its state is the share's).
  report_message_id  uuid,
  created_at         timestamptz NOT NULL,
  created_by         text NOT NULL,
  PRIMARY KEY (incident_id, peer_team)
);
CREATE INDEX incident_link_peer_ref ON incident_link (peer_team, peer_ref);

-- The outbox. A row is written in the same transaction as the change that causes it, already
-- signed: `document` holds the exact canonical bytes the signature covers, so every retry sends
-- identical bytes. Delivery workers claim due rows with FOR UPDATE SKIP LOCKED and push
-- next_attempt_at past a lease while they work, so a crashed worker's rows come due again.
CREATE TABLE outbound_message (
  id               uuid PRIMARY KEY,
  seq              bigserial NOT NULL UNIQUE,
  peer_team        text NOT NULL REFERENCES peer (team_id) ON DELETE RESTRICT,
  incident_id      uuid REFERENCES incident (id) ON DELETE RESTRICT,
  type             text NOT NULL,
  tlp              text NOT NULL,
  document         text NOT NULL,
  signature        text NOT NULL,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_attempt_at  timestamptz,
  last_error       text,
  -- The peer's signed receipt exactly as received (JSON text): proof of delivery.
  receipt          text,
  receipt_status   text,
  peer_ref         text,
  delivered_at     timestamptz,
  failed_at        timestamptz,
  created_at       timestamptz NOT NULL,
  CHECK (state <> 'delivered' OR (receipt IS NOT NULL AND delivered_at IS NOT NULL)),
  CHECK (state <> 'failed' OR failed_at IS NOT NULL)
);
CREATE INDEX outbound_message_due ON outbound_message (next_attempt_at, seq) WHERE state = 'pending';
-- Messages about one incident reach one peer in order: a row waits while an older one is pending.
CREATE INDEX outbound_message_thread ON outbound_message (peer_team, incident_id, seq) WHERE state = 'pending';
CREATE INDEX outbound_message_incident ON outbound_message (incident_id, peer_team);

-- The pull feed: one item per document sent to a peer, numbered per peer by a counter row the
-- sending transaction locks, so items become visible in number order and a cursor never skips.
CREATE TABLE feed_counter (
  peer_team  text PRIMARY KEY,
  last_seq   bigint NOT NULL
);
CREATE TABLE feed_item (
  peer_team   text NOT NULL,
  seq         bigint NOT NULL,
  message_id  uuid NOT NULL REFERENCES outbound_message (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (peer_team, seq)
);

-- The inbox: every verified message, stored exactly as received (the envelope's JSON text, and
-- the canonical document bytes with the signature, ready for gpg --verify), with the signed
-- receipt it got. (sender, message_id) is the idempotency key: a repeat gets this receipt.
-- The receipt document is fixed in the transaction that processes the message; it is signed
-- right after the commit (signing inside would hold the transaction's locks for a signature's
-- time), and a repeat finds it signed, or signs it then: every answer carries the same document.
CREATE TABLE inbound_message (
  seq                 bigserial PRIMARY KEY,
  sender              text NOT NULL,
  message_id          text NOT NULL,
  type                text NOT NULL,
  envelope            text NOT NULL,
  document            text NOT NULL,
  signature           text NOT NULL,
  signer_fingerprint  text NOT NULL,
  sealed              boolean NOT NULL,
  incident_id         uuid,
  receipt_document    text,
  receipt             text,
  receipt_status      text,
  received_at         timestamptz NOT NULL,
  UNIQUE (sender, message_id)
);
CREATE INDEX inbound_message_incident ON inbound_message (incident_id) WHERE incident_id IS NOT NULL;

-- Messages from senders that are not peers: kept exactly as received for a handler to accept
-- (pinning the sender's key) or reject. Nothing in them is processed before acceptance.
CREATE TABLE quarantined_message (
  id                  uuid PRIMARY KEY,
  seq                 bigserial NOT NULL UNIQUE,
  claimed_from        text NOT NULL,
  message_id          text NOT NULL,
  type                text,
  envelope            text NOT NULL,
  sealed              boolean NOT NULL,
  issuer_fingerprint  text,
  state               text NOT NULL DEFAULT 'quarantined' CHECK (state IN ('quarantined', 'accepted', 'rejected')),
  received_at         timestamptz NOT NULL,
  decided_at          timestamptz,
  decided_by          text,
  reason              text,
  UNIQUE (claimed_from, message_id)
);
CREATE INDEX quarantined_message_state ON quarantined_message (state, seq);

-- Investigation requests (§7: ask the other side to check the facts), both directions.
CREATE TABLE investigation (
  id                 uuid PRIMARY KEY,
  direction          text NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
  peer_team          text NOT NULL REFERENCES peer (team_id) ON DELETE RESTRICT,
  incident_id        uuid NOT NULL REFERENCES incident (id) ON DELETE RESTRICT,
  -- The other side's reference number: the requester's (incoming) or the responder's (outgoing, from the result).
  peer_ref           text,
  question           text NOT NULL,
  hosts              jsonb NOT NULL,
  state              text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered')),
  finding            text,
  summary            text,
  result_hosts       jsonb,
  result_message_id  uuid,
  created_at         timestamptz NOT NULL,
  answered_at        timestamptz
);
CREATE INDEX investigation_incident ON investigation (incident_id, created_at);

-- auth.token-request ids already used, kept until the request could no longer be fresh.
CREATE TABLE peer_token_request (
  peer_team   text NOT NULL REFERENCES peer (team_id) ON DELETE CASCADE,
  request_id  text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (peer_team, request_id)
);
CREATE INDEX peer_token_request_expiry ON peer_token_request (expires_at);
