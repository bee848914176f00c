-- The town's population register, owned by package population: besides
-- residence and district, the sex and birth date of each resident, which a
-- login that proved the fiscal code takes from here (the fiscal code's own
-- year has two digits).
ALTER TABLE registry_residents ADD COLUMN sex TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_residents ADD COLUMN birth_date TEXT NOT NULL DEFAULT '';
