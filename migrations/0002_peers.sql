-- Peers (issue 3, identity): the other teams' nodes this node exchanges with, and the key it
-- pinned for each. A key is pinned when a handler adds the peer (from its self-signed profile)
-- and changes only through a key.rotation document signed by the old key, or a human
-- re-verification; peer_key keeps every key ever pinned, so older signed documents stay
-- attributable.
CREATE TABLE peer (
  team_id                 text PRIMARY KEY CHECK (team_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name                    text NOT NULL,
  -- Base URL of the peer's node (where /federation/v1 lives), as the handler gave it.
  url                     text NOT NULL CHECK (url ~ '^https?://'),
  fingerprint             text NOT NULL CHECK (fingerprint ~ '^[0-9A-F]{40}$'),
  public_key              text NOT NULL,
  relationship            text NOT NULL DEFAULT 'peer' CHECK (relationship IN ('coordinator', 'member', 'peer')),
  trust_level             text NOT NULL DEFAULT 'unknown' CHECK (trust_level IN ('unknown', 'community', 'partner', 'close')),
  assurance               text NOT NULL DEFAULT 'unverified' CHECK (assurance IN ('unverified', 'introduced', 'verified')),
  status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'key-changed')),
  -- What the peer's signed profile asks for, and our own decision to seal anyway; the exchange
  -- seals when either is true.
  profile_requires_sealed boolean NOT NULL DEFAULT false,
  seal_always             boolean NOT NULL DEFAULT false,
  -- The signed profile exactly as received (response body text), so it can be re-verified later.
  signed_profile          text NOT NULL,
  profile_fetched_at      timestamptz NOT NULL,
  -- A key other than the pinned one was seen (key_changed_at set). The fingerprint is null when
  -- the signature did not name its issuer; the key and profile are known only when the peer's
  -- node served them (a refresh). Nothing signed by the pending key is processed until a human
  -- re-verifies. Kept while a peer is suspended, so resuming returns it to key-changed.
  pending_fingerprint     text CHECK (pending_fingerprint ~ '^[0-9A-F]{40}$'),
  pending_public_key      text,
  pending_profile         text,
  key_changed_at          timestamptz,
  verified_at             timestamptz,
  verified_by             text,
  added_at                timestamptz NOT NULL,
  added_by                text NOT NULL,
  updated_at              timestamptz NOT NULL,
  CHECK (status <> 'key-changed' OR key_changed_at IS NOT NULL),
  CHECK (key_changed_at IS NOT NULL OR (pending_fingerprint IS NULL AND pending_public_key IS NULL AND pending_profile IS NULL)),
  CHECK (pending_public_key IS NULL OR pending_fingerprint IS NOT NULL),
  CHECK ((pending_public_key IS NULL) = (pending_profile IS NULL)),
  CHECK (assurance <> 'verified' OR verified_at IS NOT NULL)
);
-- One key, one team: a profile claiming a key already pinned for another team is refused.
CREATE UNIQUE INDEX peer_fingerprint ON peer (fingerprint);

CREATE TABLE peer_key (
  team_id      text NOT NULL REFERENCES peer (team_id) ON DELETE CASCADE,
  fingerprint  text NOT NULL CHECK (fingerprint ~ '^[0-9A-F]{40}$'),
  public_key   text NOT NULL,
  -- added: pinned when the peer was added; rotation: announced by a key.rotation document
  -- signed with the previous key; reverified: pinned after a human confirmed a changed key.
  how          text NOT NULL CHECK (how IN ('added', 'rotation', 'reverified')),
  pinned_at    timestamptz NOT NULL,
  pinned_by    text NOT NULL,
  retired_at   timestamptz,
  PRIMARY KEY (team_id, fingerprint)
);
-- Exactly one current key per peer.
CREATE UNIQUE INDEX peer_key_current ON peer_key (team_id) WHERE retired_at IS NULL;
