-- IPv4-mapped IPv6 addresses (::ffff:203.0.113.99, what a dual-stack socket logs) are kept in the
-- search rows as the IPv4 address they name, so that ?host=203.0.113.99 and
-- ?host=::ffff:203.0.113.99 find the same incidents (issue 13). The node writes new rows this way
-- (incident.repository.ts, searchableAddress); this rewrites the rows written before. The
-- incident's own content keeps the address as the reporter wrote it.
UPDATE incident_host
   SET ip = '0.0.0.0'::inet + (ip - '::ffff:0.0.0.0'::inet)
 WHERE family(ip) = 6 AND masklen(ip) = 128 AND ip << '::ffff:0.0.0.0/96'::inet;
