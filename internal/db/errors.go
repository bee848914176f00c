package db

import "strings"

// IsUniqueViolation reports whether err is a unique constraint or index
// refusing a row, in SQLite's words or PostgreSQL's SQLSTATE 23505.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}
