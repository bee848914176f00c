-- The dashboard (package dashboard, through Store.Registered) reads the
-- applications registered since its last watermark: an index range.
CREATE INDEX sportello_applications_registered ON sportello_applications (registered_at);
