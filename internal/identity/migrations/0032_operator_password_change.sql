-- An operator whose password someone else chose (printed by `civico user
-- add-operator`, shown to the administrator who added them from the web or
-- forced a new one on them) chooses their own before any back-office page.
ALTER TABLE accounts ADD COLUMN password_change BOOLEAN NOT NULL DEFAULT FALSE;
