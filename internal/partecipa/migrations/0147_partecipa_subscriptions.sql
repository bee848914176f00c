-- Notifications (issue 17, item 7): a resident who opts in is told of a
-- new consultation in their district and of the answer to a proposal they
-- support, by mail through the outbox. The address is the one the
-- provider released (confirmed addresses only) at the login that opted
-- in; the district, the proven one of that login. Nothing here touches
-- the roll or the ballot box.
CREATE TABLE partecipa_subscriptions (
    subject TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    district TEXT NOT NULL DEFAULT '',
    consultations BOOLEAN NOT NULL DEFAULT FALSE,
    answers BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX partecipa_subscriptions_district ON partecipa_subscriptions (consultations, district);
