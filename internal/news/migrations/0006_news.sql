-- News items of the Novità section (Notizie, Comunicati, Avvisi). The id is
-- random; the slug, made from the title when the item is created, names it in
-- URLs and never changes. A 'published' item whose publish_at is still in the
-- future is scheduled: the pages, the feeds and the digest ignore it until
-- then. topics is a comma list of national topic slugs.
CREATE TABLE news_items (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL CHECK (category IN ('notizie', 'comunicati', 'avvisi')),
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    topics TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    publish_at TIMESTAMPTZ,
    author_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK (status = 'draft' OR publish_at IS NOT NULL)
);
CREATE INDEX news_items_published ON news_items (status, publish_at);
CREATE INDEX news_items_category ON news_items (category, status, publish_at);

-- Residents who get the news by mail, without an account. A subscription
-- counts once its address is confirmed (double opt-in): token_hash is the
-- SHA-256 of the single-use confirmation link, NULL once used, and the link
-- sets topics to pending_topics. An empty topic list means every topic.
-- last_digest_at is the end of the window the last digest covered.
CREATE TABLE news_subscriptions (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    topics TEXT NOT NULL DEFAULT '',
    pending_topics TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL,
    confirmed_at TIMESTAMPTZ,
    token_hash TEXT UNIQUE,
    token_expires_at TIMESTAMPTZ,
    token_sent_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    last_digest_at TIMESTAMPTZ
);

-- Every digest carries an unsubscribe link of its own; only its SHA-256 is
-- kept, so a copy of the database cannot unsubscribe anyone.
CREATE TABLE news_unsubscribe_tokens (
    hash TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES news_subscriptions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX news_unsubscribe_tokens_subscription ON news_unsubscribe_tokens (subscription_id);
CREATE INDEX news_unsubscribe_tokens_created ON news_unsubscribe_tokens (created_at);
