-- The administration's dashboard (package dashboard): figures aggregated
-- as they happen, so that its pages read a few hundred rows whatever the
-- years of history.
--
-- dashboard_counts are counters of events by month (Rome, YYYY-MM), a
-- figure's key (a login method; a service and channel) and the person's
-- sex (F, M, '' unknown), added to by the collecting job from each
-- feature's figures source since its watermark. dashboard_watermarks are
-- those watermarks: the instant up to which a source's events are counted
-- (moved in the transaction that adds them, so an event is counted once).
-- dashboard_levels are the figures that are a state rather than events
-- (residents active in the last 30 and 90 days, applications open by
-- state and how many are late), replaced at each measure.
CREATE TABLE dashboard_counts (
    figure TEXT NOT NULL,
    month TEXT NOT NULL,
    key TEXT NOT NULL,
    sex TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (figure, month, key, sex)
);

CREATE TABLE dashboard_watermarks (
    source TEXT PRIMARY KEY,
    upto TIMESTAMPTZ NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE dashboard_levels (
    figure TEXT NOT NULL,
    key TEXT NOT NULL,
    sex TEXT NOT NULL,
    n BIGINT NOT NULL,
    late BIGINT NOT NULL DEFAULT 0,
    measured_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (figure, key, sex)
);
