-- The eIDAS person identifier a login through the Italian eIDAS node
-- (FICEP) proves for a European without an Italian fiscal code ("DE/IT/..."
-- : country of origin, destination, then the origin's own code), with its
-- source. It keys that person's account as a proven fiscal code keys an
-- Italian's; the unique index keeps it on one account. NULL: none.
ALTER TABLE accounts ADD COLUMN eidas_id TEXT;
ALTER TABLE accounts ADD COLUMN eidas_id_source TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX accounts_eidas_id ON accounts (eidas_id);
