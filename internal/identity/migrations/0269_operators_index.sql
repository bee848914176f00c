-- The operators, read by every page of the back office that names them
-- (the Sportello's queue: assignees and the "assign to" list): an index of
-- the few among the residents' accounts (a town's tens of thousands), by
-- the order the list is read in.
CREATE INDEX accounts_operators ON accounts (email) WHERE kind = 'operator';
