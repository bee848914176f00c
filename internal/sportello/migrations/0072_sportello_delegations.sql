-- Acting for someone else (sportello.Delegation): the desk records that
-- a person (the delegate, known by the fiscal code a login of theirs must
-- prove) may submit applications for another (the holder) for the
-- services listed, until valid_until (the last day in force, YYYY-MM-DD in
-- Rome); what proved it is basis, with the two files the operator checked
-- (attachments owned by sportello:delegation:<id>): the signed delegation
-- or the proof of parental responsibility, and the holder's identity
-- document. A delegation is never edited: it is revoked, and a new one
-- recorded.
CREATE TABLE sportello_delegations (
    id TEXT PRIMARY KEY,
    holder_fiscal_code TEXT NOT NULL,
    holder_given_name TEXT NOT NULL,
    holder_family_name TEXT NOT NULL,
    delegate_fiscal_code TEXT NOT NULL CHECK (delegate_fiscal_code <> holder_fiscal_code),
    basis TEXT NOT NULL CHECK (basis IN ('written', 'parent')),
    services TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    form_attachment TEXT NOT NULL,
    document_attachment TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    revoked_by TEXT NOT NULL DEFAULT '',
    revoke_reason TEXT NOT NULL DEFAULT ''
);
-- A delegate's delegations in force (the privacy step's choice).
CREATE INDEX sportello_delegations_delegate ON sportello_delegations (delegate_fiscal_code, valid_until);
-- The desk's list, newest first.
CREATE INDEX sportello_delegations_recorded ON sportello_delegations (recorded_at, id);

-- An application submitted under a delegation names it, and who acted
-- (JSON: names and fiscal code of the delegate as their login proved
-- them); its applicant and fiscal_code are then the holder's.
ALTER TABLE sportello_applications ADD COLUMN delegation_id TEXT REFERENCES sportello_delegations (id);
ALTER TABLE sportello_applications ADD COLUMN acting TEXT NOT NULL DEFAULT '';
CREATE INDEX sportello_applications_delegation ON sportello_applications (delegation_id) WHERE delegation_id IS NOT NULL;
