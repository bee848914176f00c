package db

import (
	"context"
	"database/sql"
	"strconv"
)

// Lock names work that must not interleave across processes, held by a
// write transaction until it ends. Every lock civico takes is listed here,
// so no two features pick the same number by chance.
type Lock int64

const (
	// LockMigrations: one process migrates at a time.
	LockMigrations Lock = 7243110041
	// LockAudit: appends to the audit log's hash chain, one at a time.
	LockAudit Lock = 7243110042
	// LockFormFiles: placing uploaded files (shared) against collecting
	// the unreferenced ones (exclusive).
	LockFormFiles Lock = 7243110043
	// LockAttachmentFiles: placing attachments' files (shared) against
	// collecting the unreferenced ones (exclusive).
	LockAttachmentFiles Lock = 7243110061
	// LockNewsItems: making news visible (exclusive) against reading
	// them for a digest (shared).
	LockNewsItems Lock = 7243110060
	// LockContent: every change of the town's places, events, bodies,
	// people and documents, one at a time (slugs, and the checks of what
	// points at what, hold across processes).
	LockContent Lock = 7243110070
	// LockCatalog: one edit of the catalogue at a time, each validated
	// against the catalogue as the edits before it left it.
	LockCatalog Lock = 7243110071
	// LockEmailLinks: checking that no link to change an account's
	// address to an address lives, and writing one.
	LockEmailLinks Lock = 7243110072
	// LockPaymentsImport: one import of debt positions at a time, so
	// that an import run twice (a retried job, the command line beside a
	// worker) finds the first one's commit and does nothing.
	LockPaymentsImport Lock = 7243110103
	// LockCardKeys: making the card envelopes' age identity (cards),
	// so that two commands at once leave one current key.
	LockCardKeys Lock = 7243110220
	// LockDashboardLevels: one measure of the dashboard's gauges at a
	// time, so that two processes measuring at once leave one set.
	LockDashboardLevels Lock = 7243110246
	// LockAdmins: one revocation of the admin role at a time, so that two
	// administrators revoking each other at once cannot both pass the
	// check that one administrator is left.
	LockAdmins Lock = 7243110267
)

func (l Lock) id() string { return strconv.FormatInt(int64(l), 10) }

// Hold takes l exclusively in tx until tx ends: a PostgreSQL advisory lock.
// On SQLite a write transaction already holds the database's only write
// lock, so there is nothing more to take.
func (d *DB) Hold(ctx context.Context, tx *sql.Tx, l Lock) error {
	if d.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+l.id()+`)`) // #nosec G202 -- l is one of the constants above
	return err
}

// HoldShared takes l shared in tx: holders of the shared lock wait only for
// a holder of the exclusive one.
func (d *DB) HoldShared(ctx context.Context, tx *sql.Tx, l Lock) error {
	if d.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared(`+l.id()+`)`) // #nosec G202 -- l is one of the constants above
	return err
}

// SkipLocked is the clause that locks the rows a SELECT reads and skips
// those another transaction holds (" FOR UPDATE SKIP LOCKED" on
// PostgreSQL): workers in several processes take different rows instead of
// waiting for each other. SQLite's single writer needs none.
func (d *DB) SkipLocked() string {
	if d.Dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// WritesBesideTx says whether a write in a transaction of its own can
// commit while this process holds a write transaction open: PostgreSQL's
// connections write side by side; SQLite has one writer, and such a write
// would wait for the open transaction to end. Work that reports progress
// from inside a long transaction (an import) writes it only when this is
// true, and otherwise keeps it in the process's memory.
func (d *DB) WritesBesideTx() bool { return d.Dialect == Postgres }
