-- Locking the audit chain and reading its tail in one round trip (ADR 0010).
--
-- An appender must read the tail after it holds the chain lock: a statement that both waited for
-- the lock and read the tail would read with the snapshot it took before the wait, and could
-- miss the entry whose commit it waited for. Each command of a VOLATILE SQL function takes a
-- fresh snapshot, so here the tail is read after the lock is granted, in the same call. On a
-- server that saves a round trip inside the section where appenders queue.
CREATE FUNCTION audit_chain_lock_and_tail(lock_key bigint, count int) RETURNS TABLE (tail text, seqs bigint[])
LANGUAGE sql VOLATILE AS $$
  SELECT pg_advisory_xact_lock(lock_key);
  SELECT (SELECT hash FROM audit_entry ORDER BY seq DESC LIMIT 1),
         array(SELECT nextval(pg_get_serial_sequence('audit_entry', 'seq')) FROM generate_series(1, count));
$$;
