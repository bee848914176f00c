package analysis

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The dataset's file names and columns, in the order the writer puts them.
// The reader finds the columns by name in the header: their order may
// differ and other columns are ignored.
const (
	RespondentsFile = "respondents.csv"
	DiariesFile     = "diaries.csv"
	EpisodesFile    = "episodes.csv"
)

var (
	respondentColumns = []string{"respondent_id", "sex", "age", "age_band", "employment", "commuter", "children", "weight"}
	diaryColumns      = []string{"diary_id", "respondent_id", "day_type", "weight"}
	episodeColumns    = []string{"diary_id", "start_min", "end_min", "activity", "secondary", "location", "with_whom"}
)

// ReadDataset reads respondents.csv, diaries.csv and episodes.csv from dir
// and validates them (see Dataset.Validate). A malformed file is refused
// with a *FormatError naming the file, the line and the reason.
func ReadDataset(dir string) (*Dataset, error) { return ReadDatasetProgress(dir, nil) }

// ReadDatasetProgress is ReadDataset calling progress, when not nil, with
// the bytes read of the three files and their total size now and then.
func ReadDatasetProgress(dir string, progress func(done, total int64)) (*Dataset, error) {
	ds := &Dataset{}
	var total int64
	for _, name := range []string{RespondentsFile, DiariesFile, EpisodesFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		total += fi.Size()
	}
	counter := &countingReader{progress: progress, total: total}
	for _, f := range []struct {
		name string
		read func(io.Reader, *Dataset) error
	}{
		{RespondentsFile, readRespondents},
		{DiariesFile, readDiaries},
		{EpisodesFile, readEpisodes},
	} {
		fh, err := os.Open(filepath.Join(dir, f.name)) // #nosec G304 -- the dataset directory the analyst names on the command line
		if err != nil {
			return nil, err
		}
		counter.r = fh
		err = f.read(bufio.NewReaderSize(counter, 1<<16), ds)
		_ = fh.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	return ds, nil
}

// countingReader reports the bytes read through it every megabyte.
type countingReader struct {
	r           io.Reader
	progress    func(done, total int64)
	done, total int64
	last        int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.done += int64(n)
	if c.progress != nil && (c.done-c.last >= 1<<20 || err == io.EOF && c.done == c.total) {
		c.progress(c.done, c.total)
		c.last = c.done
	}
	return n, err
}

// interner keeps one copy of each of the few distinct values of a column
// (activity codes, locations, with whom), so a row's strings do not hold
// on to the line they were read from.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	if len(in) > 4096 {
		return strings.Clone(s)
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}

// table walks a CSV file whose header must hold the named columns.
type table struct {
	file string
	r    *csv.Reader
	cols []int // position of each wanted column in the record
	want []string
	rec  []string
	line int
}

func newTable(file string, in io.Reader, want []string) (*table, error) {
	r := csv.NewReader(in)
	r.ReuseRecord = true
	t := &table{file: file, r: r, want: want}
	head, err := r.Read()
	if err == io.EOF {
		return nil, &FormatError{file, 1, "", "the file is empty: a header row is needed"}
	}
	if err != nil {
		return nil, t.csvErr(err)
	}
	pos := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := pos[h]; dup && h != "" {
			return nil, &FormatError{file, 1, h, "the column appears twice in the header"}
		}
		pos[h] = i
	}
	for _, w := range want {
		i, ok := pos[w]
		if !ok {
			return nil, &FormatError{file, 1, w, "the header has no such column (needed: " + strings.Join(want, ", ") + ")"}
		}
		t.cols = append(t.cols, i)
	}
	r.FieldsPerRecord = len(head)
	return t, nil
}

func (t *table) csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		reason := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			reason = "wrong number of fields (the header has " + strconv.Itoa(t.r.FieldsPerRecord) + ")"
		}
		return &FormatError{t.file, pe.StartLine, "", reason}
	}
	return fmt.Errorf("%s: %w", t.file, err)
}

// next reads the next row; false at the end or on error (see err).
func (t *table) next() (bool, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, t.csvErr(err)
	}
	t.rec = rec
	t.line, _ = t.r.FieldPos(0)
	return true, nil
}

// field is the value of the i-th wanted column, spaces trimmed.
func (t *table) field(i int) string { return strings.TrimSpace(t.rec[t.cols[i]]) }

func (t *table) int(i int) (int, error) {
	v, err := strconv.Atoi(t.field(i))
	if err != nil {
		return 0, &FormatError{t.file, t.line, t.want[i], fmt.Sprintf("%q is not a whole number", t.field(i))}
	}
	return v, nil
}

func (t *table) float(i int) (float64, error) {
	v, err := strconv.ParseFloat(t.field(i), 64)
	if err != nil {
		return 0, &FormatError{t.file, t.line, t.want[i], fmt.Sprintf("%q is not a number", t.field(i))}
	}
	return v, nil
}

func readRespondents(in io.Reader, ds *Dataset) error {
	t, err := newTable(RespondentsFile, in, respondentColumns)
	if err != nil {
		return err
	}
	for {
		ok, err := t.next()
		if !ok {
			return err
		}
		r := Respondent{ID: t.field(0), Sex: t.field(1), AgeBand: t.field(3), Employment: t.field(4), Commuter: t.field(5), Children: t.field(6)}
		if r.Age, err = t.int(2); err != nil {
			return err
		}
		if r.Weight, err = t.float(7); err != nil {
			return err
		}
		if col, why := r.check(); why != "" {
			return &FormatError{t.file, t.line, col, why}
		}
		ds.Respondents = append(ds.Respondents, r)
		ds.respLines = append(ds.respLines, t.line)
	}
}

func readDiaries(in io.Reader, ds *Dataset) error {
	t, err := newTable(DiariesFile, in, diaryColumns)
	if err != nil {
		return err
	}
	for {
		ok, err := t.next()
		if !ok {
			return err
		}
		d := Diary{ID: t.field(0), RespondentID: t.field(1), DayType: t.field(2)}
		if d.Weight, err = t.float(3); err != nil {
			return err
		}
		if col, why := d.check(); why != "" {
			return &FormatError{t.file, t.line, col, why}
		}
		ds.Diaries = append(ds.Diaries, d)
		ds.diaryLines = append(ds.diaryLines, t.line)
	}
}

func readEpisodes(in io.Reader, ds *Dataset) error {
	t, err := newTable(EpisodesFile, in, episodeColumns)
	if err != nil {
		return err
	}
	// Diary ids repeat on consecutive rows: one string per diary, not per
	// episode.
	var last string
	codes := interner{}
	for {
		ok, err := t.next()
		if !ok {
			return err
		}
		id := t.field(0)
		if id == last {
			id = last
		} else {
			id = strings.Clone(id)
			last = id
		}
		e := Episode{DiaryID: id, Activity: codes.get(t.field(3)), Secondary: codes.get(t.field(4)), Location: codes.get(t.field(5)), WithWhom: codes.get(t.field(6))}
		if e.Start, err = t.int(1); err != nil {
			return err
		}
		if e.End, err = t.int(2); err != nil {
			return err
		}
		if col, why := e.check(); why != "" {
			return &FormatError{t.file, t.line, col, why}
		}
		ds.Episodes = append(ds.Episodes, e)
		ds.epLines = append(ds.epLines, t.line)
	}
}

// WriteDataset validates ds and writes it to dir as respondents.csv,
// diaries.csv and episodes.csv (UTF-8, comma, header row, the columns of
// the format in order), each written to a temporary file and renamed into
// place. dir is created if missing.
func WriteDataset(dir string, ds *Dataset) error {
	if err := ds.Validate(); err != nil {
		return fmt.Errorf("the dataset is not valid: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, RespondentsFile), func(w io.Writer) error { return WriteRespondents(w, ds.Respondents) }); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, DiariesFile), func(w io.Writer) error { return WriteDiaries(w, ds.Diaries) }); err != nil {
		return err
	}
	return WriteFile(filepath.Join(dir, EpisodesFile), func(w io.Writer) error { return WriteEpisodes(w, ds.Episodes) })
}

// WriteFile writes path through write into a temporary file beside it,
// then renames it into place, so a reader never sees half a file.
func WriteFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := write(bw); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// WriteRespondents writes respondents.csv's header and rows.
func WriteRespondents(w io.Writer, rs []Respondent) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(respondentColumns)
	for _, r := range rs {
		_ = cw.Write([]string{r.ID, r.Sex, strconv.Itoa(r.Age), r.AgeBand, r.Employment, r.Commuter, r.Children, formatFloat(r.Weight)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteDiaries writes diaries.csv's header and rows.
func WriteDiaries(w io.Writer, ds []Diary) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(diaryColumns)
	for _, d := range ds {
		_ = cw.Write([]string{d.ID, d.RespondentID, d.DayType, formatFloat(d.Weight)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteEpisodes writes episodes.csv's header and rows.
func WriteEpisodes(w io.Writer, es []Episode) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(episodeColumns)
	for _, e := range es {
		_ = cw.Write([]string{e.DiaryID, strconv.Itoa(e.Start), strconv.Itoa(e.End), e.Activity, e.Secondary, e.Location, e.WithWhom})
	}
	cw.Flush()
	return cw.Error()
}
