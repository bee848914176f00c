//go:build !linux

package main

import (
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// databaseCPU is not measured here.
func databaseCPU(*db.DB) (time.Duration, bool) { return 0, false }
