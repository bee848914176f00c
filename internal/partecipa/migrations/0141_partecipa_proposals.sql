-- Residents' proposals, their supports and threaded comments, and the
-- reports of abuse the participation office moderates: see
-- docs/PARTECIPA.md, "Proposals". Authors and supporters are kept by
-- Partecipa's pairwise subject only; pages show no names.

CREATE TABLE partecipa_proposals (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    status TEXT NOT NULL DEFAULT 'evaluation',
    -- supports is the number of rows of partecipa_supports, kept in the
    -- transaction that adds one; threshold is the town's at creation.
    supports BIGINT NOT NULL DEFAULT 0,
    threshold BIGINT NOT NULL,
    reached_at TIMESTAMPTZ,
    answer_due TIMESTAMPTZ,
    answer TEXT NOT NULL DEFAULT '',
    answered_at TIMESTAMPTZ,
    hidden_reason TEXT NOT NULL DEFAULT '',
    hidden_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- The public list, newest first, whole or by category or status: each
-- page and its count read one of these.
CREATE INDEX partecipa_proposals_list ON partecipa_proposals (hidden_at, created_at, id);
CREATE INDEX partecipa_proposals_category ON partecipa_proposals (category, hidden_at, created_at, id);
CREATE INDEX partecipa_proposals_status ON partecipa_proposals (status, hidden_at, created_at, id);
-- The office's list of answers due.
CREATE INDEX partecipa_proposals_due ON partecipa_proposals (answered_at, answer_due);
CREATE INDEX partecipa_proposals_author ON partecipa_proposals (author, created_at);

-- One support per resident: the primary key is the rule.
CREATE TABLE partecipa_supports (
    proposal_id TEXT NOT NULL REFERENCES partecipa_proposals (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    PRIMARY KEY (proposal_id, subject)
);

-- Comments, threaded: a reply names its parent and its thread's first
-- comment (root_id, its own id for a first comment), so a page of threads
-- reads their replies in one query.
CREATE TABLE partecipa_comments (
    id TEXT PRIMARY KEY,
    proposal_id TEXT NOT NULL REFERENCES partecipa_proposals (id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES partecipa_comments (id) ON DELETE CASCADE,
    root_id TEXT NOT NULL,
    depth INTEGER NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    hidden_reason TEXT NOT NULL DEFAULT '',
    hidden_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX partecipa_comments_threads ON partecipa_comments (proposal_id, depth, created_at, id);
CREATE INDEX partecipa_comments_root ON partecipa_comments (root_id, created_at, id);

-- Reports of abuse: one per resident and thing reported, until the office
-- settles them.
CREATE TABLE partecipa_reports (
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    proposal_id TEXT NOT NULL REFERENCES partecipa_proposals (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    settled_at TIMESTAMPTZ,
    PRIMARY KEY (kind, target_id, subject)
);
CREATE INDEX partecipa_reports_open ON partecipa_reports (settled_at, created_at);
