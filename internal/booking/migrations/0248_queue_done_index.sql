-- The dashboard (package dashboard, through Store.Served) reads the
-- tickets served since its last watermark: an index range on done_at.
CREATE INDEX queue_tickets_done_at ON queue_tickets (done_at);
