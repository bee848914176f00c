-- The applicant's full name (Applicant.Name), beside the applicant's JSON,
-- for the back office's queue and its export: they decoded every row's
-- JSON for the name alone, a third of reading a page of the queue.
-- Written with the JSON by every statement that writes it; filled here
-- for the applications made before, trimmed as Name trims it (spaces,
-- tabs, line ends). PostgreSQL's JSON refuses a \u0000 anywhere in the
-- document, and an address may hold one: each is read as \u0020 (the same
-- length and shape, so the document stays valid; a name cannot hold one,
-- its text column applicant_key holds no NUL).
ALTER TABLE sportello_applications ADD COLUMN applicant_name TEXT NOT NULL DEFAULT '';
-- +sqlite
UPDATE sportello_applications SET applicant_name = TRIM(COALESCE(json_extract(applicant, '$.given_name.value'), '') || ' ' ||
  COALESCE(json_extract(applicant, '$.family_name.value'), ''), ' ' || char(9) || char(10) || char(13))
  WHERE json_valid(applicant);
-- +postgres
UPDATE sportello_applications SET applicant_name = BTRIM(COALESCE(replace(applicant, '\u0000', '\u0020')::jsonb #>> '{given_name,value}', '') || ' ' ||
  COALESCE(replace(applicant, '\u0000', '\u0020')::jsonb #>> '{family_name,value}', ''), E' \t\n\r')
  WHERE applicant LIKE '{%';
-- +end
