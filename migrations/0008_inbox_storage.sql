-- Inbox rows and incidents stored for the receive path (ADR 0009).
--
-- An inbox row kept the envelope exactly as received and, beside it, the canonical text of its
-- document: the same bytes twice, which the database compressed twice. The canonical document is
-- a function of the envelope (RFC 8785 of its "document" member; a sealed message's envelope is
-- the opened one, protocol §10), so it is derived when read (exchange.repository.ts), and the
-- column goes. Every stored row was written from its own envelope, so nothing is lost.
ALTER TABLE inbound_message DROP COLUMN document;

-- Rows up to a page stay inline and uncompressed: an inbox row (envelope, signature, receipt)
-- and an incident's content are a few kilobytes, and compressing them cost more CPU than any
-- other step of storing a received report on the embedded engine. Larger rows are still
-- compressed and moved out of line as before.
ALTER TABLE inbound_message SET (toast_tuple_target = 8160);
ALTER TABLE incident SET (toast_tuple_target = 8160);
