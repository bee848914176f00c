-- Offices and their opening hours (a hours.Spec as JSON), and the services
-- described in the order of the Designers Italia municipal model.
CREATE TABLE offices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    address TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    accessibility TEXT NOT NULL,
    hours TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE services (
    id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    status_reason TEXT NOT NULL,
    summary TEXT NOT NULL,
    audience TEXT NOT NULL,
    how_to TEXT NOT NULL,
    needed TEXT NOT NULL,
    outcome TEXT NOT NULL,
    deadlines TEXT NOT NULL,
    max_days INTEGER NOT NULL,
    online_url TEXT NOT NULL,
    assurance TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('online', 'desk', 'both')),
    fees TEXT NOT NULL,
    conditions TEXT NOT NULL,
    topics TEXT NOT NULL,
    audiences TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX services_category ON services (category, title);

CREATE TABLE service_offices (
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    office_id TEXT NOT NULL REFERENCES offices (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (service_id, office_id)
);
CREATE INDEX service_offices_office ON service_offices (office_id);
