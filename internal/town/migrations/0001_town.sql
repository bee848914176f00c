-- The town profile: one row, the town's public data as a JSON document, so
-- another town is configured without touching templates.
CREATE TABLE town_profile (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Answers to "Quanto sono chiare le informazioni su questa pagina?". No
-- account, no address: only the page, the answer and when.
CREATE TABLE page_feedback (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    reason TEXT NOT NULL,
    comment TEXT NOT NULL,
    lang TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX page_feedback_path ON page_feedback (path, created_at);
