-- The receipt of every payment, sent to its debtor through each channel
-- (mail, the IO app): one row per receipt and channel, planned after the
-- receipt is recorded (whoever settled it: a notification, reconciliation,
-- the node) and delivered under a lease, retried on failure, like the
-- reminders.
CREATE TABLE payments_receipt_messages (
    receipt_id TEXT NOT NULL REFERENCES payments_receipts (id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (receipt_id, channel)
);
CREATE INDEX payments_receipt_messages_due ON payments_receipt_messages (status, next_at);
