-- Full-text search of the services. FTS5 has no Italian stemmer: words are
-- matched by prefix (the query adds *), with accents folded.
CREATE VIRTUAL TABLE services_fts USING fts5(
    id UNINDEXED,
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
