-- Certificates that bear the stamp duty (package certificates): the order
-- waits for its duty's pagoPA notice (billed through payments, in the
-- order's transaction) to be paid, then the certificate is sealed and the
-- order points at it. 'refused' is an order the register no longer allowed
-- when its duty was paid (the office refunds it; reason is the message
-- id); 'void' one whose notice expired or was cancelled unpaid.
CREATE TABLE certificate_orders (
    id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    disclosure TEXT NOT NULL,
    notice_id TEXT NOT NULL,
    notice_number TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('awaiting', 'issued', 'refused', 'void')),
    certificate_id TEXT UNIQUE REFERENCES certificates (id),
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);

CREATE INDEX certificate_orders_holder ON certificate_orders (holder, status, created_at);
CREATE INDEX certificate_orders_status ON certificate_orders (status, created_at);
