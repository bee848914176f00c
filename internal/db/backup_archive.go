package db

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// A backup archive is a tar file compressed with gzip holding what a restore
// needs: a consistent copy of the SQLite database (member civico.db; none on
// PostgreSQL, whose pg_dump does that), the data directory's files under
// their names relative to it (forms/ab/ab12..., ca/ca.key, ...) and, last,
// MANIFEST.json, which names every other member with its size and SHA-256.
//
// The hashes detect damage (a flipped bit, a truncated copy), not malice:
// whoever can rewrite an archive can rewrite its manifest too. Keep archives
// where only the operators can write them.

// ArchiveFormat is the version of the archive layout this civico writes and
// the newest it reads.
const ArchiveFormat = 1

// Names of members with a role.
const (
	// maxTail bounds what may follow the tar's end in the gzip stream.
	maxTail = 1 << 20

	ManifestName   = "MANIFEST.json"
	DatabaseMember = "civico.db"
)

// Bounds on what a reader accepts, far above any real installation's.
const (
	maxManifest = 64 << 20
	maxMembers  = 1 << 20
)

var (
	// ErrArchive means the file is not a civico backup archive, or a damaged one.
	ErrArchive = errors.New("not a valid civico backup archive")
	// ErrNotEmpty means a restore was asked into a data directory (or onto a
	// database file) that already holds something.
	ErrNotEmpty = errors.New("not empty")
	// ErrDialect means the archive holds a SQLite database but the restore
	// target is PostgreSQL.
	ErrDialect = errors.New("the archive holds a SQLite database and cannot be restored into PostgreSQL")
)

// Manifest is MANIFEST.json.
type Manifest struct {
	Format  int       `json:"format"`
	Civico  string    `json:"civico_version"`
	Schema  int       `json:"schema_version"`
	Dialect Dialect   `json:"dialect"`
	Created time.Time `json:"created"`
	// Database is the member holding the SQLite database; empty when the
	// archive holds none (PostgreSQL).
	Database string `json:"database"`
	// Notes say what the archive does not hold and where it is.
	Notes   []string `json:"notes,omitempty"`
	Members []Member `json:"members"`
}

// Member is one file of the archive.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Files counts the members other than the database, and their bytes.
func (m *Manifest) Files() (n int, size int64) {
	for _, x := range m.Members {
		if x.Name != m.Database {
			n++
			size += x.Size
		}
	}
	return n, size
}

// BackupOptions says what BackupArchive copies besides the database.
type BackupOptions struct {
	// DataDir is the data directory; Include names its files and
	// directories to copy (slash-separated, relative to it), skipped when
	// missing, and Skip directories under them not to copy.
	DataDir       string
	Include, Skip []string
	// Version is civico's version, for the manifest; Notes go in it too.
	Version string
	Notes   []string
	// Progress, when set, is called once with the bytes to copy and then
	// written every byte copied.
	Progress func(total int64) io.Writer
	// AfterDatabase, when set, is called once the database is copied and
	// before the files are listed: tests write there meanwhile.
	AfterDatabase func()
	// Schema is what the database is built from: on PostgreSQL, the
	// manifest records the version it is at.
	Schema Schema
}

// archiveFile is a file to copy: its name in the archive and on disk.
type archiveFile struct {
	name, path string
	size       int64
}

// BackupArchive writes a backup archive of the database and the data
// directory's files to out, which must not exist: under a temporary name
// beside it, renamed into place once complete, mode 0600. On PostgreSQL it
// holds the files only and the manifest says so.
//
// The database is copied first, then the files. The forms library writes a
// file, then commits the row that names it; files are never changed once
// written, and removed only when no row names them. So every file a row of
// the copy names is already on disk when the copy is taken, and still there
// when the files are copied after it: the archive never holds a row without
// its file. A file uploaded during the backup may be in the archive without
// the row of its upload, which is harmless: the restored server's collection
// of unreferenced files removes it. The other way round (files first) would
// miss the files of rows committed in between.
func (d *DB) BackupArchive(ctx context.Context, out string, opt BackupOptions) (*Manifest, error) {
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("%s already exists: choose another name or remove it", out)
	}
	dir := filepath.Dir(out)
	tmp := filepath.Join(dir, "."+filepath.Base(out)+".partial")
	_ = os.Remove(tmp)
	m := &Manifest{Format: ArchiveFormat, Civico: opt.Version, Dialect: d.Dialect, Created: time.Now().UTC().Truncate(time.Second)}

	// 1. The database.
	var dbCopy string
	if d.Dialect == SQLite {
		work, err := os.MkdirTemp(dir, ".civico-backup-*")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(work) }()
		dbCopy = filepath.Join(work, DatabaseMember)
		if err := d.Backup(ctx, dbCopy); err != nil {
			return nil, err
		}
		if m.Schema, err = fileSchema(ctx, dbCopy); err != nil {
			return nil, fmt.Errorf("read the copy's schema version: %w", err)
		}
		m.Database = DatabaseMember
	} else {
		var err error
		if m.Schema, _, err = d.SchemaStatus(ctx, opt.Schema); err != nil {
			return nil, err
		}
		m.Notes = append(m.Notes, "The database is not in this archive: on PostgreSQL, dump it with pg_dump --format=custom and keep the dump with this archive.")
	}
	m.Notes = append(m.Notes, opt.Notes...)
	if opt.AfterDatabase != nil {
		opt.AfterDatabase()
	}

	// 2. The files, listed after the copy was taken.
	files, skipped, err := listFiles(opt.DataDir, opt.Include, opt.Skip, []string{out, tmp})
	if err != nil {
		return nil, err
	}
	m.Notes = append(m.Notes, skipped...)
	var total int64
	if dbCopy != "" {
		fi, err := os.Stat(dbCopy)
		if err != nil {
			return nil, err
		}
		total += fi.Size()
		files = append([]archiveFile{{name: DatabaseMember, path: dbCopy}}, files...)
	}
	for _, f := range files {
		total += f.size
	}
	progress := io.Discard
	if opt.Progress != nil {
		progress = opt.Progress(total)
	}

	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- beside the file the operator named with --out
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	// Most of the bytes are forms (PDF, ODT, DOCX), compressed already:
	// the fastest level loses little and spares the server's CPU.
	gz, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, af := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		mem, err := addFile(tw, af, progress)
		if errors.Is(err, fs.ErrNotExist) && af.name != DatabaseMember {
			// Removed since it was listed: only files no row names are
			// removed (see above), so the archive does not need it.
			continue
		}
		if err != nil {
			return nil, err
		}
		m.Members = append(m.Members, mem)
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Size: int64(len(body)), Mode: 0o600, ModTime: m.Created}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	done = true
	if _, err := os.Lstat(out); err == nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("%s appeared while the backup ran: the archive was not written", out)
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	return m, syncDir(dir)
}

// addFile copies one file into the archive and returns its manifest entry.
func addFile(tw *tar.Writer, af archiveFile, progress io.Writer) (Member, error) {
	f, err := os.Open(af.path) // #nosec G304 -- a file of the data directory, or the database copy
	if err != nil {
		return Member{}, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return Member{}, err
	}
	if !fi.Mode().IsRegular() {
		return Member{}, fmt.Errorf("%s is no longer a regular file", af.path)
	}
	mode := int64(fi.Mode().Perm())
	if af.name == DatabaseMember {
		mode = 0o600 // as Restore writes it, whatever VACUUM INTO made
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: af.name, Size: fi.Size(), Mode: mode, ModTime: fi.ModTime()}
	if err := tw.WriteHeader(hdr); err != nil {
		return Member{}, err
	}
	h := sha256.New()
	// A file is read through the descriptor opened above: one replaced by
	// a rename meanwhile (the card authority's CRL) is copied as it was.
	if _, err := io.CopyN(io.MultiWriter(tw, h, progress), f, fi.Size()); err != nil {
		return Member{}, fmt.Errorf("copy %s (did it shrink while copied?): %w", af.path, err)
	}
	return Member{Name: af.name, Size: fi.Size(), SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// listFiles lists the regular files of include (relative to dataDir) in
// name order, leaving out the skip directories and the avoid paths; it
// reports what else it left out (symbolic links, devices).
func listFiles(dataDir string, include, skip, avoid []string) ([]archiveFile, []string, error) {
	avoidAbs := map[string]bool{}
	for _, p := range avoid {
		if a, err := filepath.Abs(p); err == nil {
			avoidAbs[a] = true
		}
	}
	var files []archiveFile
	var notes []string
	for _, inc := range include {
		root := filepath.Join(dataDir, filepath.FromSlash(inc))
		// The included directory itself may be a symbolic link (forms/ on
		// another disk); what is inside it is copied only if regular.
		fi, err := os.Stat(root)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if fi.Mode().IsRegular() {
			files = append(files, archiveFile{name: inc, path: root, size: fi.Size()})
			continue
		}
		if !fi.IsDir() {
			notes = append(notes, fmt.Sprintf("%s was left out: not a regular file or directory.", inc))
			continue
		}
		walkRoot, err := filepath.EvalSymlinks(root)
		if err != nil {
			return nil, nil, err
		}
		err = filepath.WalkDir(walkRoot, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed while listed
				}
				return err
			}
			rel, err := filepath.Rel(walkRoot, p)
			if err != nil {
				return err
			}
			name := path.Join(inc, filepath.ToSlash(rel))
			if abs, err := filepath.Abs(p); err == nil && avoidAbs[abs] {
				return nil
			}
			switch {
			case e.IsDir():
				if slices.Contains(skip, name) {
					return fs.SkipDir
				}
				return nil
			case e.Type().IsRegular():
				info, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				if err != nil {
					return err
				}
				files = append(files, archiveFile{name: name, path: p, size: info.Size()})
			default:
				notes = append(notes, fmt.Sprintf("%s was left out: not a regular file.", name))
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return files, notes, nil
}

// fileSchema reads the schema version of a SQLite database file, opened
// read-only: the copy is archived as VACUUM INTO wrote it.
func fileSchema(ctx context.Context, p string) (int, error) {
	c, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	return schemaVersion(ctx, c)
}

func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- a directory civico writes in
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

// ReadArchive reads a backup archive to its end and checks it: gzip and
// tar intact to the last byte, every member a regular file with a relative
// name that stays inside the data directory (no "..", no absolute path, no
// link), met once, and MANIFEST.json naming exactly the other members with
// their sizes and SHA-256. It returns the manifest, or an error wrapping
// ErrArchive.
//
// each, when not nil, is given every member but the manifest as it is
// read. The members are checked only at the end: what each did is to be
// trusted only when ReadArchive returns nil.
func ReadArchive(r io.Reader, each func(name string, mode fs.FileMode, content io.Reader) error) (*Manifest, error) {
	br := bufio.NewReader(r)
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrArchive, err)
	}
	gz.Multistream(false)
	tr := tar.NewReader(gz)
	seen := map[string]Member{}
	dirs := map[string]bool{}
	var manifest []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrArchive, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: member %q is not a regular file (links and directories are refused)", ErrArchive, hdr.Name)
		}
		if err := checkName(hdr.Name); err != nil {
			return nil, err
		}
		if _, dup := seen[hdr.Name]; dup || dirs[hdr.Name] || (hdr.Name == ManifestName && manifest != nil) {
			return nil, fmt.Errorf("%w: member %q appears twice", ErrArchive, hdr.Name)
		}
		for p := hdr.Name; strings.Contains(p, "/"); {
			p = p[:strings.LastIndexByte(p, '/')]
			if _, file := seen[p]; file {
				return nil, fmt.Errorf("%w: %q is both a file and a directory", ErrArchive, p)
			}
			dirs[p] = true
		}
		if hdr.Name == ManifestName {
			if hdr.Size > maxManifest {
				return nil, fmt.Errorf("%w: the manifest is too large", ErrArchive)
			}
			if manifest, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrArchive, err)
			}
			continue
		}
		if len(seen) >= maxMembers {
			return nil, fmt.Errorf("%w: more than %d members", ErrArchive, maxMembers)
		}
		h := sha256.New()
		content := io.TeeReader(tr, h)
		if each != nil {
			if err := each(hdr.Name, fs.FileMode(hdr.Mode).Perm(), content); err != nil { // #nosec G115 -- only the permission bits are kept
				return nil, err
			}
		}
		// #nosec G110 -- tar's reader ends each member at its header's size; this pass writes nothing, and what is written later was checked against the manifest first
		if _, err := io.Copy(h, tr); err != nil { // what each did not read
			return nil, fmt.Errorf("%w: %v", ErrArchive, err)
		}
		seen[hdr.Name] = Member{Name: hdr.Name, Size: hdr.Size, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	// The tar's end is not the file's: read the rest of the gzip stream
	// (its checksum is checked at its end), and refuse anything after it.
	// A tar writer pads its end to a record of a few KiB: what the gzip
	// stream holds beyond maxTail is not padding, and is not read through.
	if n, err := io.Copy(io.Discard, io.LimitReader(gz, maxTail+1)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrArchive, err)
	} else if n > maxTail {
		return nil, fmt.Errorf("%w: data after the end of the archive", ErrArchive)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the end of the archive", ErrArchive)
	}
	if manifest == nil {
		return nil, fmt.Errorf("%w: no %s", ErrArchive, ManifestName)
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrArchive, ManifestName, err)
	}
	if err := m.check(seen); err != nil {
		return nil, err
	}
	return &m, nil
}

// checkName refuses a member name that is not a clean relative path inside
// the data directory.
func checkName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: member name %q %s", ErrArchive, name, why) }
	switch {
	case name == "" || len(name) > 1024:
		return bad("is empty or too long")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }):
		return bad("holds control characters or backslashes")
	case !filepath.IsLocal(filepath.FromSlash(name)): // absolute, or through ".."
		return bad("leaves the data directory")
	case path.Clean(name) != name || name == ".":
		return bad("is not a clean path")
	}
	return nil
}

// check compares the manifest with the members read.
func (m *Manifest) check(seen map[string]Member) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrArchive, fmt.Sprintf(format, args...))
	}
	switch {
	case m.Format < 1:
		return bad("%s has no format version", ManifestName)
	case m.Format > ArchiveFormat:
		return bad("made by a newer civico (archive format %d, this civico reads up to %d)", m.Format, ArchiveFormat)
	case m.Dialect != SQLite && m.Dialect != Postgres:
		return bad("unknown dialect %q", m.Dialect)
	case m.Schema < 0:
		return bad("negative schema version")
	case m.Database != "" && (m.Database != DatabaseMember || m.Dialect != SQLite):
		return bad("the database member must be %s, on SQLite only", DatabaseMember)
	}
	if m.Database != "" {
		if _, ok := seen[m.Database]; !ok {
			return bad("the database %s is missing", m.Database)
		}
	}
	for _, sib := range []string{DatabaseMember, DatabaseMember + "-wal", DatabaseMember + "-shm", DatabaseMember + "-journal"} {
		if _, ok := seen[sib]; ok && sib != m.Database {
			return bad("member %s is reserved for the database", sib)
		}
	}
	listed := map[string]bool{}
	for _, x := range m.Members {
		got, ok := seen[x.Name]
		switch {
		case listed[x.Name]:
			return bad("%s lists %q twice", ManifestName, x.Name)
		case !ok:
			return bad("%q is in the manifest but not in the archive", x.Name)
		case got.Size != x.Size || got.SHA256 != x.SHA256:
			return bad("%q is damaged: its SHA-256 or size differs from the manifest's", x.Name)
		}
		listed[x.Name] = true
	}
	for name := range seen {
		if !listed[name] {
			return bad("%q is in the archive but not in the manifest", name)
		}
	}
	return nil
}
