-- The purge of applications past their retention (sportello.Store.Purge)
-- reads the concluded ones by form and conclusion, and the stale drafts
-- by their last change.
CREATE INDEX sportello_applications_retention ON sportello_applications (phase, form_id, decided_at);
CREATE INDEX sportello_applications_stale ON sportello_applications (phase, updated_at);
