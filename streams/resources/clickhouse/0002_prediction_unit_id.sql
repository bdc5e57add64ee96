-- Migration 0002: the A/B unit of each prediction, as the privacy policy leaves it
-- (INFERWATCH_PRIVACY_UNIT_ID: empty when dropped, the HMAC-SHA256 hex when hashed).
-- Rows stored before it read ''. IF NOT EXISTS: a migration interrupted before it was
-- recorded is safely applied again.
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS unit_id String DEFAULT '' AFTER segment;
