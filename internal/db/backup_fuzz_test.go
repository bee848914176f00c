package db_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
)

// FuzzReadArchive: whatever a backup archive holds, ReadArchive does not
// panic and refuses it with ErrArchive, or accepts only member names inside
// the data directory; and what it accepts, Restore either refuses, leaving
// the place it was asked to restore into missing as it was, or restores as
// exactly the members the manifest names, with their content, inside the
// data directory and nowhere else.
//
// The input describes the archive rather than being one: Go's minimizer
// tries every substring of an input, hopeless for a tar of 512-byte headers.
// entries holds one member a line: its tar type flag ('0' a file, '1' a
// hard link, '2' a symbolic link, '5' a directory, ...), its name, '=' and
// its content (a link's target). manifest is JSON read into the manifest
// before the entries' correct sizes and hashes are added to it (so it may
// name more members, or the same twice); flip, when not 0, changes the byte
// of the tar at flip-1 (modulo its length) before it is compressed. The raw
// entries are also read as an archive. The seeds are in
// testdata/fuzz/FuzzReadArchive.
func FuzzReadArchive(f *testing.F) {
	f.Fuzz(func(t *testing.T, entries, manifest string, flip uint16) {
		_, _ = db.ReadArchive(strings.NewReader(entries), nil)
		archive, ok := buildArchive(entries, manifest, flip)
		if !ok {
			return
		}
		m, err := db.ReadArchive(bytes.NewReader(archive), nil)
		if err != nil {
			if !errors.Is(err, db.ErrArchive) {
				t.Fatalf("ReadArchive: %v, not an ErrArchive", err)
			}
			// Restore reads with ReadArchive before it writes anything, so
			// it refuses too; writing to disk only for the archives
			// ReadArchive accepts keeps the target fast.
			return
		}
		for _, x := range m.Members {
			if !filepath.IsLocal(filepath.FromSlash(x.Name)) || x.Name == db.ManifestName {
				t.Fatalf("accepted member name %q", x.Name)
			}
		}
		restoreChecked(t, archive)
	})
}

// buildArchive makes the archive FuzzReadArchive describes; false when the
// tar writer refuses it.
func buildArchive(entries, manifest string, flip uint16) ([]byte, bool) {
	var m db.Manifest
	_ = json.Unmarshal([]byte(manifest), &m)
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	add := func(h *tar.Header, body []byte) bool {
		return tw.WriteHeader(h) == nil && (len(body) == 0 || func() bool { _, err := tw.Write(body); return err == nil }())
	}
	for _, line := range strings.Split(entries, "\n") {
		if line == "" {
			continue
		}
		name, body, _ := strings.Cut(line[1:], "=")
		h := &tar.Header{Typeflag: line[0], Name: name, Mode: 0o640}
		var content []byte
		switch h.Typeflag {
		case tar.TypeReg:
			content = []byte(body)
			h.Size = int64(len(content))
			sum := sha256.Sum256(content)
			m.Members = append(m.Members, db.Member{Name: name, Size: h.Size, SHA256: hex.EncodeToString(sum[:])})
		default:
			h.Linkname = body
		}
		if !add(h, content) {
			return nil, false
		}
	}
	body, err := json.Marshal(m)
	if err != nil || !add(&tar.Header{Typeflag: tar.TypeReg, Name: db.ManifestName, Size: int64(len(body)), Mode: 0o600}, body) || tw.Close() != nil {
		return nil, false
	}
	b := raw.Bytes()
	if flip != 0 {
		b[int(flip-1)%len(b)] ^= 0xff
	}
	var out bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&out, gzip.NoCompression) // cheap, and the reader's path is the same
	_, _ = gz.Write(b)
	_ = gz.Close()
	return out.Bytes(), true
}

// restoreChecked restores an archive ReadArchive accepted into a new
// directory and checks what Restore wrote, or that it wrote nothing.
func restoreChecked(t *testing.T, archive []byte) {
	dir := t.TempDir()
	p := filepath.Join(dir, "archive.tar.gz")
	if err := os.WriteFile(p, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	parent := filepath.Join(dir, "parent")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(parent, "data")
	rm, rerr := db.Restore(context.Background(), p, db.RestoreOptions{DataDir: target, Database: db.Target{Dialect: db.SQLite, Path: filepath.Join(target, "civico.db")}})
	written := map[string][]byte{}
	walkErr := filepath.WalkDir(parent, func(q string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if !e.Type().IsRegular() {
			t.Errorf("restore wrote %s, not a regular file", q)
		}
		rel, err := filepath.Rel(target, q)
		if err != nil || !filepath.IsLocal(rel) {
			t.Errorf("restore wrote %s, outside %s", q, target)
			return nil
		}
		b, err := os.ReadFile(q)
		written[filepath.ToSlash(rel)] = b
		return err
	})
	if walkErr != nil {
		t.Fatal(walkErr)
	}
	if rerr != nil {
		if len(written) > 0 {
			t.Fatalf("Restore refused (%v) but left %d files", rerr, len(written))
		}
		if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Restore refused (%v) but left the data directory", rerr)
		}
		return
	}
	for _, x := range rm.Members {
		b, ok := written[x.Name]
		sum := sha256.Sum256(b)
		if !ok || hex.EncodeToString(sum[:]) != x.SHA256 {
			t.Errorf("member %s not restored as the manifest says", x.Name)
		}
		delete(written, x.Name)
	}
	for name := range written {
		if rm.Database == "" || (name != "civico.db-wal" && name != "civico.db-shm") {
			t.Errorf("restore wrote %s, not in the manifest", name)
		}
	}
}
