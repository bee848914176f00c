-- Every change to an account, its roles or a session (not a session's
-- last_seen_at, which moves once a minute), recorded by triggers so that
-- no writer can leave it out: this process, another civico process on the
-- same database, a command, or someone at the SQL prompt. Each process
-- keeps the sessions it has read, with their accounts, in its memory
-- (sessionCache) and reads this table several times a second to drop the
-- ones changed since. at_ms is the database's clock in milliseconds since
-- 1970, so that every reader compares it with the same clock. Sessions.Sweep
-- removes rows older than an hour.
CREATE TABLE identity_changes (
-- +postgres
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
-- +sqlite
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
-- +end
    account_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX identity_changes_at ON identity_changes (at_ms);
-- +postgres
CREATE FUNCTION identity_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO identity_changes (account_id, at_ms) VALUES (OLD.id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    ELSE
        INSERT INTO identity_changes (account_id, at_ms) VALUES (NEW.id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION identity_owner_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN
        INSERT INTO identity_changes (account_id, at_ms) VALUES (OLD.account_id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.account_id <> OLD.account_id) THEN
        INSERT INTO identity_changes (account_id, at_ms) VALUES (NEW.account_id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    END IF;
    RETURN NULL;
END
$$;
-- Deferred to the commit: a row takes its seq and at_ms as its transaction
-- commits, not when the statement ran, so a transaction that waits (for
-- the audit log's lock, say) after its change cannot commit it behind the
-- watchers' backs (outside review: behind their cursor and out of their
-- window, it was never seen).
CREATE CONSTRAINT TRIGGER accounts_changed AFTER UPDATE OR DELETE ON accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION identity_account_changed();
CREATE CONSTRAINT TRIGGER account_roles_changed AFTER INSERT OR UPDATE OR DELETE ON account_roles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION identity_owner_changed();
CREATE CONSTRAINT TRIGGER sessions_changed AFTER UPDATE OF id_hash, account_id, assurance, method, created_at, expires_at, user_agent, proof OR DELETE ON sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION identity_owner_changed();
-- TRUNCATE fires no row trigger (an administrator logging everyone out at
-- the SQL prompt): it records '*', every account. SQLite has no TRUNCATE;
-- its DELETE without WHERE fires the row triggers when a table has some.
CREATE FUNCTION identity_all_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES ('*', (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    RETURN NULL;
END
$$;
CREATE TRIGGER accounts_truncated AFTER TRUNCATE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION identity_all_changed();
CREATE TRIGGER account_roles_truncated AFTER TRUNCATE ON account_roles FOR EACH STATEMENT EXECUTE FUNCTION identity_all_changed();
CREATE TRIGGER sessions_truncated AFTER TRUNCATE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION identity_all_changed();
-- +sqlite
CREATE TRIGGER accounts_changed AFTER UPDATE ON accounts
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES (NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER accounts_deleted AFTER DELETE ON accounts
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES (OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER account_roles_added AFTER INSERT ON account_roles
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES (NEW.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER account_roles_changed AFTER UPDATE ON account_roles
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES (OLD.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO identity_changes (account_id, at_ms) SELECT NEW.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE NEW.account_id <> OLD.account_id;
END;
CREATE TRIGGER account_roles_removed AFTER DELETE ON account_roles
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES (OLD.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER sessions_changed AFTER UPDATE OF id_hash, account_id, assurance, method, created_at, expires_at, user_agent, proof ON sessions
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES (OLD.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO identity_changes (account_id, at_ms) SELECT NEW.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE NEW.account_id <> OLD.account_id;
END;
CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions
BEGIN
    INSERT INTO identity_changes (account_id, at_ms) VALUES (OLD.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
-- +end
