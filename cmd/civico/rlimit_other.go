//go:build !unix

package main

// raiseFDLimit knows no file-descriptor limit where the system has no
// RLIMIT_NOFILE (Windows): the connection caps then are not checked against
// one.
func raiseFDLimit() (limit uint64, known bool) { return 0, false }
