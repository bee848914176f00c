-- The applicant's full name (Applicant.Name), beside the applicant's JSON,
-- for the back office's queue and its export: they decoded every row's
-- JSON for the name alone, a third of reading a page of the queue.
-- Written with the JSON by every statement that writes it.
ALTER TABLE sportello_applications ADD COLUMN applicant_name TEXT NOT NULL DEFAULT '';
-- +sqlite
UPDATE sportello_applications SET applicant_name = TRIM(COALESCE(json_extract(applicant, '$.given_name.value'), '') || ' ' ||
  COALESCE(json_extract(applicant, '$.family_name.value'), ''), ' ');
-- +postgres
UPDATE sportello_applications SET applicant_name = BTRIM(COALESCE(applicant::jsonb #>> '{given_name,value}', '') || ' ' ||
  COALESCE(applicant::jsonb #>> '{family_name,value}', ''), ' ');
-- +end
