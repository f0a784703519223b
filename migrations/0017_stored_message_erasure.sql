-- Erasure of personal data reaches the signed messages the node stored about an incident
-- (issue 12, ADR 0016). An erased message keeps its row, its id, its signature and its receipt;
-- its document holds the erased version, `erased_at` says when, and `document_sha256` is the
-- SHA-256 of the canonical document as it was signed: what the signature and a repeat of the
-- message are still checked against.
ALTER TABLE inbound_message ADD COLUMN erased_at timestamptz;
ALTER TABLE inbound_message ADD COLUMN document_sha256 text CHECK (document_sha256 IS NULL OR document_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE inbound_message ADD CONSTRAINT inbound_message_erased CHECK ((erased_at IS NULL) = (document_sha256 IS NULL));
ALTER TABLE outbound_message ADD COLUMN erased_at timestamptz;
ALTER TABLE outbound_message ADD COLUMN document_sha256 text CHECK (document_sha256 IS NULL OR document_sha256 ~ '^[0-9a-f]{64}$');
