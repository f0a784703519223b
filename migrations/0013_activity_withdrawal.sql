-- Summary withdrawals (issue 11; docs/federation-protocol.md, activity.withdrawn). A member that
-- takes back an activity summary (its report became TLP:RED, or its policy no longer lets this
-- coordinator have it) makes the coordinator forget the report: its member_activity row goes,
-- and with it the observables it was correlated on. What stays is this tombstone, the version
-- the member withdrew at, so that an older summary still in flight (a retry overtaken by the
-- withdrawal) does not bring the report back. A newer summary replaces the tombstone.
CREATE TABLE activity_withdrawal (
  team          text NOT NULL CHECK (team ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  ref           text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
  version       integer NOT NULL,
  updated       timestamptz NOT NULL,
  reason        text NOT NULL CHECK (reason IN ('label', 'policy')),
  message_id    uuid NOT NULL,
  withdrawn_at  timestamptz NOT NULL,
  PRIMARY KEY (team, ref)
);
