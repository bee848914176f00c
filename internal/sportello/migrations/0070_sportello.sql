-- The Sportello: application forms per service, and the applications
-- residents fill online or the desk registers for them.
--
-- sportello_forms keeps every version of a service's form: a Definition
-- (JSON) an administrator writes. A published version is never changed
-- (the triggers below refuse it): editing makes the next version, a draft,
-- of which a service has at most one. Applications name the version they
-- were filled with. No foreign key to the catalogue, which is replaced
-- wholesale on import.
CREATE TABLE sportello_forms (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    definition TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    published_by TEXT NOT NULL DEFAULT '',
    UNIQUE (service_id, version)
);
CREATE UNIQUE INDEX sportello_forms_one_draft ON sportello_forms (service_id) WHERE status = 'draft';

-- +postgres
CREATE FUNCTION sportello_forms_published_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published form version cannot be changed or removed: make a new version';
END
$$;
CREATE TRIGGER sportello_forms_no_change BEFORE UPDATE OR DELETE ON sportello_forms
    FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION sportello_forms_published_immutable();
-- +sqlite
CREATE TRIGGER sportello_forms_no_update BEFORE UPDATE ON sportello_forms WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published form version cannot be changed or removed: make a new version');
END;
CREATE TRIGGER sportello_forms_no_delete BEFORE DELETE ON sportello_forms WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published form version cannot be changed or removed: make a new version');
END;
-- +end

-- An application, from its draft to its conclusion. account_id is the
-- resident's account (NULL for one registered at the counter for someone
-- who has none yet: fiscal_code then finds it once they log in with a
-- proven one). phase is the back office's first cut (draft, open, closed)
-- and state the lifecycle's (sportello.State). The clock's fields are
-- sportello.Snapshot's; due_on is the expected decision day in Rome
-- (YYYY-MM-DD), kept up to date at every step so that the overdue queue
-- is an index range. applicant and answers are JSON.
CREATE TABLE sportello_applications (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    service_title TEXT NOT NULL,
    form_id TEXT NOT NULL REFERENCES sportello_forms (id),
    account_id TEXT,
    fiscal_code TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL CHECK (channel IN ('online', 'counter')),
    phase TEXT NOT NULL CHECK (phase IN ('draft', 'open', 'closed')),
    state TEXT NOT NULL,
    applicant TEXT NOT NULL,
    applicant_key TEXT NOT NULL DEFAULT '',
    answers TEXT NOT NULL,
    -- The key of the form that created the row: a second post of the same
    -- form (a double click) finds the first row instead of making another.
    idempotency_key TEXT NOT NULL,
    notify_email TEXT NOT NULL DEFAULT '',
    protocol TEXT NOT NULL DEFAULT '',
    assignee_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    submitted_at TIMESTAMPTZ,
    registered_at TIMESTAMPTZ,
    taken_at TIMESTAMPTZ,
    decided_at TIMESTAMPTZ,
    term_days INTEGER NOT NULL,
    withdrawable BOOLEAN NOT NULL DEFAULT FALSE,
    suspended_days INTEGER NOT NULL DEFAULT 0,
    pause_from TIMESTAMPTZ,
    pause_until TIMESTAMPTZ,
    integration_used BOOLEAN NOT NULL DEFAULT FALSE,
    integration_until TIMESTAMPTZ,
    notice_at TIMESTAMPTZ,
    remarks_at TIMESTAMPTZ,
    due_on TEXT NOT NULL DEFAULT '',
    UNIQUE (idempotency_key)
);
CREATE UNIQUE INDEX sportello_applications_protocol ON sportello_applications (protocol) WHERE protocol <> '';
-- The resident's list: by account, and by proven fiscal code, in the
-- list's order (id breaks ties, so a page is read off the index).
CREATE INDEX sportello_applications_account ON sportello_applications (account_id, updated_at, id);
CREATE INDEX sportello_applications_fiscal_code ON sportello_applications (fiscal_code, updated_at, id);
-- The back office's queues, each in its order: to assign and mine (phase,
-- assignee), all open and closed (phase), overdue (phase, due day), by
-- service and by state.
CREATE INDEX sportello_applications_queue ON sportello_applications (phase, assignee_id, registered_at, id);
CREATE INDEX sportello_applications_phase ON sportello_applications (phase, registered_at, id);
CREATE INDEX sportello_applications_due ON sportello_applications (phase, due_on, id);
CREATE INDEX sportello_applications_service ON sportello_applications (service_id, phase, registered_at, id);
CREATE INDEX sportello_applications_state ON sportello_applications (state, registered_at, id);
CREATE INDEX sportello_applications_applicant ON sportello_applications (applicant_key);

-- Every step of an application's life, written in the step's transaction.
CREATE TABLE sportello_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES sportello_applications (id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL CHECK (actor IN ('resident', 'office', 'system')),
    actor_id TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sportello_history_application ON sportello_history (application_id, id);

-- What the office and the resident write to each other: messages, the
-- request for integration and its answer, the notice of refusal and the
-- remarks, the decision's motivation.
CREATE TABLE sportello_messages (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES sportello_applications (id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    from_office BOOLEAN NOT NULL,
    author_id TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX sportello_messages_application ON sportello_messages (application_id, at);

-- The files of an application: those the resident attached to the form or
-- an integration, and the office's reply. The bytes are package
-- attachments'; this names them for the application.
CREATE TABLE sportello_documents (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES sportello_applications (id) ON DELETE CASCADE,
    attachment_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('answer', 'integration', 'remarks', 'reply')),
    field TEXT NOT NULL DEFAULT '',
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    from_office BOOLEAN NOT NULL,
    protocol TEXT NOT NULL DEFAULT '',
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sportello_documents_application ON sportello_documents (application_id, at);

-- The national model's ease rating (1-5) of a service, one per
-- application, with the second step's answer and comment.
CREATE TABLE sportello_ratings (
    application_id TEXT PRIMARY KEY REFERENCES sportello_applications (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    answer TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sportello_ratings_service ON sportello_ratings (service_id, score);
