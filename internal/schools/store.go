package schools

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// PageSize is the longest list a page shows.
const PageSize = 50

// Status is where an enrolment stands.
type Status string

// The statuses of an enrolment.
const (
	Accepted  Status = "accepted"
	Waiting   Status = "waiting"
	Withdrawn Status = "withdrawn"
	// Pending is an enrolment of a service by ranking whose ranking is
	// not applied yet: no place is taken.
	Pending Status = "pending"
)

// Enrolment is a child's enrolment in a service's unit.
type Enrolment struct {
	ID, ServiceID, UnitID   string
	AccountID, ParentFC     string
	Email, Lang             string
	ChildFC                 string
	ChildGiven, ChildFamily string
	School, Class, Stop     string
	Diet                    string
	CertificateID           string
	// ISEE is the value the tariff uses, in cents: the declared one, or
	// the school office's correction; nil: no ISEE (the last band).
	ISEE *int64
	// ISEEDeclared is the value the parent declared (nil: none);
	// ISEECheck where the office's check stands: ISEEDeclaredOnly,
	// ISEEConfirmed, ISEECorrected, ISEENone.
	ISEEDeclared *int64
	ISEECheck    string
	Band         int
	AmountCents  int64
	// Exempt says the ISEE is within the service's exemption (the amount
	// is 0); Sibling2 and Sibling3 are the service's reductions when the
	// enrolment was sent, applied when a month is billed by which child
	// of the parent it is.
	Exempt             bool
	Sibling2, Sibling3 int
	// SiblingDeclared and WorkingParents are the ranking's declarations;
	// Points what the ranking gave.
	SiblingDeclared, WorkingParents bool
	Points                          int
	Status                          Status
	Seq                             int
	CreatedAt                       time.Time
	UpdatedAt                       time.Time
	// Position is the place on the waiting list (1 is next), 0 when not
	// waiting; read with the enrolment.
	Position int
	// Service and Unit are the service's title and the unit's label, read
	// with the enrolment for the lists.
	Service, Unit string
}

// Letters write the mail of a change of an enrolment ("accepted",
// "waiting", "promoted", "withdrawn") in the change's transaction.
type Letters func(ctx context.Context, tx *sql.Tx, e *Enrolment, what string) error

// Store keeps the services, their units and the enrolments.
type Store struct {
	DB    *db.DB
	Audit audit.Writer
	// Letters mail the parents (nil: no mail, the benchmarks').
	Letters Letters
	// Files keep the medical certificates (nil: none accepted).
	Files *attachments.Store
	// Resident says whether a fiscal code is in the town's population
	// register (nil: everyone is, for services open to residents only).
	Resident func(ctx context.Context, fiscalCode string) (bool, error)
	// Household is the fiscal codes of a person's household in the
	// population register, the person's own included (none: not in the
	// register). A sibling reduction counts only the child's housemates;
	// nil: no sibling is ever counted.
	Household func(ctx context.Context, fiscalCode string) ([]string, error)
	Now       func() time.Time
	// Biller makes the bills' debt positions (payments); BillLetters mail
	// the parents their notices (nil: no mail).
	Biller      Biller
	BillLetters BillLetters
	// Log tells the failures the periodic jobs go on past (nil: none told).
	Log *slog.Logger
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// ErrNotFound is a service, unit or enrolment that does not exist (or is
// another parent's).
var ErrNotFound = problem.New(problem.NotFound, "", errors.New("schools: not found"))

const serviceColumns = `id, school_year, kind, title, description, opens_at, closes_at, classes, residents_only, tariff_unit, bands, updated_at,
	sibling2_percent, sibling3_percent, exempt_isee_cents, mode, points, ranked_at`

func scanService(row interface{ Scan(...any) error }) (*Service, error) {
	var s Service
	var kind, classes, bands string
	var exempt sql.NullInt64
	var mode, points string
	var ranked sql.NullTime
	if err := row.Scan(&s.ID, &s.SchoolYear, &kind, &s.Title, &s.Description, &s.OpensAt, &s.ClosesAt, &classes, &s.ResidentsOnly,
		&s.TariffUnit, &bands, &s.UpdatedAt, &s.Sibling2, &s.Sibling3, &exempt, &mode, &points, &ranked); err != nil {
		return nil, err
	}
	s.Mode = Mode(mode)
	if err := json.Unmarshal([]byte(points), &s.Points); err != nil {
		return nil, fmt.Errorf("schools: points: %w", err)
	}
	if ranked.Valid {
		t := ranked.Time.UTC()
		s.RankedAt = &t
	}
	if exempt.Valid {
		s.ExemptISEE = &exempt.Int64
	}
	s.Kind, s.Classes = Kind(kind), strings.Fields(classes)
	var err error
	if s.Bands, err = decodeBands(bands); err != nil {
		return nil, err
	}
	return &s, nil
}

// Services lists the services, newest school year first, at most
// PageSize from page, and how many there are.
func (s *Store) Services(ctx context.Context, page int) ([]*Service, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_services`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("schools: count: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+serviceColumns+` FROM schools_services
		ORDER BY school_year DESC, opens_at, id LIMIT $1 OFFSET $2`, PageSize, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("schools: services: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*Service
	for rows.Next() {
		svc, err := scanService(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, svc)
	}
	return out, total, rows.Err()
}

// Open lists the services whose window has not closed at now, soonest
// first (the public page): at most PageSize.
func (s *Store) Open(ctx context.Context, now time.Time) ([]*Service, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+serviceColumns+` FROM schools_services WHERE closes_at > $1
		ORDER BY opens_at, title, id LIMIT $2`, now.UTC(), PageSize)
	if err != nil {
		return nil, fmt.Errorf("schools: open services: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*Service
	for rows.Next() {
		svc, err := scanService(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, rows.Err()
}

// Service reads a service with its units.
func (s *Store) Service(ctx context.Context, id string) (*Service, error) {
	svc, err := scanService(s.DB.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM schools_services WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("schools: service: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, label, stops, capacity, taken, waiting FROM schools_units WHERE service_id = $1 ORDER BY place, id`, id)
	if err != nil {
		return nil, fmt.Errorf("schools: units: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		u := &Unit{ServiceID: id}
		var stops string
		if err := rows.Scan(&u.ID, &u.Label, &stops, &u.Capacity, &u.Taken, &u.Waiting); err != nil {
			return nil, err
		}
		u.Stops = splitLines(stops)
		svc.Units = append(svc.Units, u)
	}
	return svc, rows.Err()
}

// ServiceOfUnit reads the service of a unit, with its units.
func (s *Store) ServiceOfUnit(ctx context.Context, unitID string) (*Service, error) {
	var id string
	err := s.DB.QueryRowContext(ctx, `SELECT service_id FROM schools_units WHERE id = $1`, unitID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("schools: unit: %w", err)
	}
	return s.Service(ctx, id)
}

// Actor is who changes something, for the audit log.
type Actor struct {
	Name, Remote string
}

// ServiceInput is the office's form of a service.
type ServiceInput struct {
	SchoolYear, Kind, Title, Description string
	Opens, Closes                        string // "2006-01-02T15:04", Rome time
	Classes                              []string
	ResidentsOnly                        bool
	TariffUnit, Bands                    string
	// Sibling2 and Sibling3 are the reductions in percent for a parent's
	// second child and for the third and later ("" is 0); ExemptISEE the
	// ISEE in euro up to which the service is free ("": none).
	Sibling2, Sibling3, ExemptISEE string
	// Mode is "first_come" or "ranking"; PointsResident, PointsSibling
	// and PointsWorking the ranking's points ("" is 0).
	Mode                                         string
	PointsResident, PointsSibling, PointsWorking string
}

// formTime is how the office's forms write a moment (Rome time).
const formTime = "2006-01-02T15:04"

// parse checks the office's form; the fields' message ids say what is
// wrong.
func (in ServiceInput) parse() (*Service, problem.Fields) {
	fe := problem.Fields{}
	svc := &Service{SchoolYear: strings.TrimSpace(in.SchoolYear), Kind: Kind(in.Kind), Title: strings.TrimSpace(in.Title),
		Description: strings.TrimSpace(in.Description), ResidentsOnly: in.ResidentsOnly, TariffUnit: in.TariffUnit}
	if !validYear(svc.SchoolYear) {
		fe["school_year"] = "schools.error.school_year"
	}
	if !contains(Kinds, svc.Kind) {
		fe["kind"] = "schools.error.kind"
	}
	if n := len([]rune(svc.Title)); n < 3 || n > 200 {
		fe["title"] = "schools.error.title"
	}
	if len([]rune(svc.Description)) > 4000 {
		fe["description"] = "schools.error.description"
	}
	var err error
	if svc.OpensAt, err = time.ParseInLocation(formTime, in.Opens, rome); err != nil {
		fe["opens"] = "schools.error.datetime"
	}
	if svc.ClosesAt, err = time.ParseInLocation(formTime, in.Closes, rome); err != nil {
		fe["closes"] = "schools.error.datetime"
	} else if fe["opens"] == "" && !svc.ClosesAt.After(svc.OpensAt) {
		fe["closes"] = "schools.error.closes_before"
	}
	for _, c := range in.Classes {
		if contains(Classes, c) && !contains(svc.Classes, c) {
			svc.Classes = append(svc.Classes, c)
		}
	}
	if len(svc.Classes) == 0 {
		fe["classes"] = "schools.error.classes"
	}
	if !contains(TariffUnits, svc.TariffUnit) {
		fe["tariff_unit"] = "schools.error.tariff_unit"
	}
	if svc.Bands, err = ParseBands(in.Bands); err != nil {
		fe["bands"] = "schools.error.bands"
	}
	for field, dst := range map[string]*int{"sibling2": &svc.Sibling2, "sibling3": &svc.Sibling3} {
		v := strings.TrimSpace(map[string]string{"sibling2": in.Sibling2, "sibling3": in.Sibling3}[field])
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(v, "%")))
		if err != nil || n < 0 || n > 100 {
			fe[field] = "schools.error.percent"
			continue
		}
		*dst = n
	}
	switch svc.Mode = Mode(in.Mode); svc.Mode {
	case "":
		svc.Mode = FirstCome
	case FirstCome, Ranking:
	default:
		fe["mode"] = "schools.error.mode"
	}
	for field, dst := range map[string]*int{"points_resident": &svc.Points.Resident, "points_sibling": &svc.Points.Sibling, "points_working": &svc.Points.WorkingParents} {
		v := strings.TrimSpace(map[string]string{"points_resident": in.PointsResident, "points_sibling": in.PointsSibling, "points_working": in.PointsWorking}[field])
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxPoints {
			fe[field] = "schools.error.points"
			continue
		}
		*dst = n
	}
	if v := strings.TrimSpace(in.ExemptISEE); v != "" {
		if c, err := ParseEuro(v); err != nil {
			fe["exempt_isee"] = "schools.error.exempt_isee"
		} else {
			svc.ExemptISEE = &c
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	return svc, nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// validYear is "2026/2027": two consecutive years.
func validYear(y string) bool {
	var a, b int
	if len(y) != 9 || y[4] != '/' {
		return false
	}
	if _, err := fmt.Sscanf(y, "%4d/%4d", &a, &b); err != nil {
		return false
	}
	return a >= 2000 && b == a+1
}

// PutService creates (id "") or changes a service.
func (s *Store) PutService(ctx context.Context, id string, in ServiceInput, by Actor) (string, error) {
	svc, fe := in.parse()
	if fe != nil {
		return "", fe
	}
	now := s.now()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if id == "" {
			id = tokens.ID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO schools_services (id, school_year, kind, title, description, opens_at, closes_at,
				classes, residents_only, tariff_unit, bands, created_at, updated_at, updated_by, sibling2_percent, sibling3_percent, exempt_isee_cents, mode, points)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $17, $18)`,
				id, svc.SchoolYear, string(svc.Kind), svc.Title, svc.Description, svc.OpensAt.UTC(), svc.ClosesAt.UTC(), strings.Join(svc.Classes, " "),
				svc.ResidentsOnly, svc.TariffUnit, encodeBands(svc.Bands), now, by.Name, svc.Sibling2, svc.Sibling3, svc.ExemptISEE,
				string(svc.Mode), encodePoints(svc.Points)); err != nil {
				return err
			}
		} else {
			// The mode changes only while nobody has enrolled, and not once
			// the ranking was applied.
			var mode string
			var ranked sql.NullTime
			var enrolled bool
			err := tx.QueryRowContext(ctx, `SELECT mode, ranked_at, EXISTS (SELECT 1 FROM schools_enrolments WHERE service_id = $1) FROM schools_services WHERE id = $1`+s.DB.ForUpdate(),
				id).Scan(&mode, &ranked, &enrolled)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			if Mode(mode) != svc.Mode && (enrolled || ranked.Valid) {
				return problem.Fields{"mode": "schools.error.mode_locked"}
			}
			// The kind stays: the enrolments' slots depend on it.
			res, err := tx.ExecContext(ctx, `UPDATE schools_services SET school_year = $2, title = $3, description = $4, opens_at = $5, closes_at = $6,
				classes = $7, residents_only = $8, tariff_unit = $9, bands = $10, updated_at = $11, updated_by = $12,
				sibling2_percent = $13, sibling3_percent = $14, exempt_isee_cents = $15, mode = $16, points = $17 WHERE id = $1`,
				id, svc.SchoolYear, svc.Title, svc.Description, svc.OpensAt.UTC(), svc.ClosesAt.UTC(), strings.Join(svc.Classes, " "),
				svc.ResidentsOnly, svc.TariffUnit, encodeBands(svc.Bands), now, by.Name, svc.Sibling2, svc.Sibling3, svc.ExemptISEE,
				string(svc.Mode), encodePoints(svc.Points))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotFound
			}
		}
		return s.audit(ctx, tx, by, "schools.service.put", "schools_service:"+id, map[string]string{"title": svc.Title, "opens": in.Opens, "closes": in.Closes,
			"bands": svc.Bands.String(), "sibling2": strconv.Itoa(svc.Sibling2), "sibling3": strconv.Itoa(svc.Sibling3), "exempt_isee": svc.ExemptText()})
	})
	if err != nil {
		return "", fmt.Errorf("schools: put service: %w", err)
	}
	return id, nil
}

func (s *Store) audit(ctx context.Context, tx *sql.Tx, by Actor, action, subject string, details map[string]string) error {
	if s.Audit == nil {
		return nil
	}
	return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.Name, Action: action, Subject: subject, Details: details, Remote: by.Remote})
}

// UnitInput is the office's form of a unit.
type UnitInput struct {
	Label, Stops, Capacity string
}

// MaxCapacity bounds a unit's places.
const MaxCapacity = 100000

func (in UnitInput) parse(kind Kind) (label string, stops []string, capacity int, fe problem.Fields) {
	fe = problem.Fields{}
	label = strings.TrimSpace(in.Label)
	if n := len([]rune(label)); n < 2 || n > 200 {
		fe["label"] = "schools.error.label"
	}
	if kind == Bus {
		stops = splitLines(in.Stops)
		if len(stops) == 0 || len(stops) > 100 {
			fe["stops"] = "schools.error.stops"
		}
	}
	if _, err := fmt.Sscan(strings.TrimSpace(in.Capacity), &capacity); err != nil || capacity < 0 || capacity > MaxCapacity {
		fe["capacity"] = "schools.error.capacity"
	}
	if len(fe) == 0 {
		fe = nil
	}
	return label, stops, capacity, fe
}

// AddUnit adds a unit to a service.
func (s *Store) AddUnit(ctx context.Context, serviceID string, in UnitInput, by Actor) (string, error) {
	svc, err := s.Service(ctx, serviceID)
	if err != nil {
		return "", err
	}
	label, stops, capacity, fe := in.parse(svc.Kind)
	if fe != nil {
		return "", fe
	}
	id := tokens.ID()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO schools_units (id, service_id, label, stops, place, capacity)
			VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(place), 0) + 1 FROM schools_units WHERE service_id = $2), $5)`,
			id, serviceID, label, strings.Join(stops, "\n"), capacity); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, "schools.unit.add", "schools_unit:"+id, map[string]string{"service": serviceID, "label": label, "capacity": fmt.Sprint(capacity)})
	})
	if err != nil {
		return "", fmt.Errorf("schools: add unit: %w", err)
	}
	return id, nil
}

// SetCapacity changes a unit's places. It may not go below the accepted
// enrolments; places it adds go to the waiting list's first, in the same
// transaction, each told by mail.
func (s *Store) SetCapacity(ctx context.Context, unitID, capacity string, by Actor) (promoted int, err error) {
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(capacity), &n); err != nil || n < 0 || n > MaxCapacity {
		return 0, problem.Fields{"capacity": "schools.error.capacity"}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var taken int
		err := tx.QueryRowContext(ctx, `SELECT taken FROM schools_units WHERE id = $1`+s.DB.ForUpdate(), unitID).Scan(&taken)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if n < taken {
			return problem.Fields{"capacity": "schools.error.capacity_below"}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schools_units SET capacity = $2 WHERE id = $1`, unitID, n); err != nil {
			return err
		}
		if promoted, err = s.promote(ctx, tx, unitID); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, "schools.unit.capacity", "schools_unit:"+unitID, map[string]string{"capacity": fmt.Sprint(n), "promoted": fmt.Sprint(promoted)})
	})
	return promoted, err
}

// promote gives the unit's free places to the waiting list's first, in
// order, within tx, which holds the unit's row.
func (s *Store) promote(ctx context.Context, tx *sql.Tx, unitID string) (int, error) {
	n := 0
	for {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT e.id FROM schools_enrolments e JOIN schools_units u ON u.id = e.unit_id
			WHERE e.unit_id = $1 AND e.status = 'waiting' AND u.taken < u.capacity ORDER BY e.seq LIMIT 1`, unitID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schools_units SET taken = taken + 1, waiting = waiting - 1 WHERE id = $1`, unitID); err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schools_enrolments SET status = 'accepted', updated_at = $2, accepted_at = $2 WHERE id = $1`, id, s.now()); err != nil {
			return n, err
		}
		n++
		if s.Letters != nil {
			e, err := s.get(ctx, tx, id, "")
			if err != nil {
				return n, err
			}
			if err := s.Letters(ctx, tx, e, "promoted"); err != nil {
				return n, err
			}
		}
	}
}

var rome = hours.Rome
