-- The place's point on the map, where the town configured a tile server
-- (CIVICO_MAP_TILES_URL) and the reporter gave one: public as the address is.
ALTER TABLE segnala_reports ADD COLUMN lat DOUBLE PRECISION;
ALTER TABLE segnala_reports ADD COLUMN lon DOUBLE PRECISION;
