-- Time as written (issue 13): an incident's firstSeen and lastSeen keep the offset, and the
-- fraction of a second, the reporter gave them ("2026-11-20T02:13:00+09:00" stays that). The
-- timestamptz columns stay beside them as the normalised instant that sorting and search use.
-- Nested times (systemChanges[].at, evidence[].collectedAt) are in jsonb and are kept as written
-- from now on. Rows stored before are kept in the UTC form they were stored in.
ALTER TABLE incident ADD COLUMN first_seen_text text CHECK (first_seen_text IS NULL OR length(first_seen_text) BETWEEN 20 AND 64);
ALTER TABLE incident ADD COLUMN last_seen_text text CHECK (last_seen_text IS NULL OR length(last_seen_text) BETWEEN 20 AND 64);
UPDATE incident
   SET first_seen_text = to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       last_seen_text = to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
 WHERE first_seen IS NOT NULL OR last_seen IS NOT NULL;
