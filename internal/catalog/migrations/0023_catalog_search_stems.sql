-- The services' index on SQLite holds each word's Italian stem since this
-- version (as PostgreSQL's italian configuration does): the words indexed
-- before are dropped here and the catalogue writes them anew when it
-- starts (Store.Reindex). PostgreSQL's generated column needs nothing.
-- +sqlite
DELETE FROM services_fts;
-- +end
