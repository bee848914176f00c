-- Files a message carries (an appointment's iCalendar file): a JSON list
-- of {name, media_type, content (base64)}, '' for none.
ALTER TABLE mail_outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
