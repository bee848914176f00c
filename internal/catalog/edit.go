package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
)

// Editing the catalogue: create, edit, retire (off the portal, kept),
// restore and delete offices and services. Every edit holds the
// catalogue's lock, reads the catalogue inside its transaction, validates
// it with the change (the edited entity by every rule of the back office,
// the rest by what the pages rely on), writes the change with its audit
// entry and the services' search index, and commits; then this process
// forgets its cached catalogue. An edit based on an older version of an
// office or a service than the stored one is refused (ErrStale), so that
// nobody's save silently undoes another's.

// Editor is who makes a change, for the audit log.
type Editor struct {
	Audit audit.Writer
	// Actor is "account:<id>" (or "cli", "demo"); Remote the client's
	// address.
	Actor, Remote string
}

// Errors of an edit besides Invalid.
var (
	ErrNotFound = problem.New(problem.NotFound, "", errors.New("no such office or service"))
	// ErrStale: the office or service was saved by someone else since the
	// form was opened.
	ErrStale = problem.New(problem.Conflict, "catalog.error.stale", errors.New("edit based on an older version"))
)

// InUse is an office or a service that something still refers to: it is
// not deleted (nor, for an office that published services name, retired).
type InUse struct {
	Uses []Use
}

func (e *InUse) Error() string { return fmt.Sprintf("in use by %d things", len(e.Uses)) }

// Is makes errors.Is(err, problem.ErrConflict) true.
func (e *InUse) Is(target error) bool { return target == problem.ErrConflict }

// edit runs fn on the catalogue as stored, in a transaction holding the
// catalogue's lock.
func (s *Store) edit(ctx context.Context, fn func(tx *sql.Tx, c *Catalog, now time.Time) error) error {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.DB.Hold(ctx, tx, db.LockCatalog); err != nil {
			return err
		}
		c, err := s.load(ctx, tx)
		if err != nil {
			return err
		}
		return fn(tx, c, time.Now().UTC())
	})
	if err != nil {
		return err
	}
	s.Forget()
	return nil
}

// strictOn holds one entity to every rule.
func strictOn(kind, id string) func(string, string) bool {
	return func(k, i string) bool { return k == kind && i == id }
}

// revalidate checks the catalogue with a change: the errors of the edited
// entity, and those the change causes elsewhere (named in the catalogue's
// terms), as Invalid.
func (s *Store) revalidate(ctx context.Context, c *Catalog, kind, id string) error {
	err := c.validate(s.holidays(ctx), strictOn(kind, id))
	var inv Invalid
	if errors.As(err, &inv) {
		return inv
	}
	return err
}

// CheckOffice validates an office as the back office would save it,
// without saving: the form's preview, and its errors shown with those of
// the form's own parsing. creating refuses an id already used.
func (s *Store) CheckOffice(ctx context.Context, o *Office, creating bool) (Invalid, error) {
	cur, err := s.Get(ctx)
	if err != nil {
		return nil, err
	}
	c := cur.clone()
	var inv Invalid
	if old, ok := c.AnyOffice(o.ID); ok {
		if creating {
			inv = append(inv, &FieldError{Entity: "office:" + o.ID, Field: "id", Message: "catalog.error.id_taken"})
		} else {
			o.Retired = old.Retired
		}
	}
	c.putOffice(o)
	if err := s.revalidate(ctx, c, "office", o.ID); err != nil {
		var more Invalid
		if !errors.As(err, &more) {
			return nil, err
		}
		inv = append(inv, more...)
	}
	return inv, nil
}

// CheckService validates a service as the back office would save it,
// without saving (see CheckOffice).
func (s *Store) CheckService(ctx context.Context, v *Service, creating bool) (Invalid, error) {
	cur, err := s.Get(ctx)
	if err != nil {
		return nil, err
	}
	c := cur.clone()
	var inv Invalid
	if old, ok := c.AnyService(v.ID); ok {
		if creating {
			inv = append(inv, &FieldError{Entity: "service:" + v.ID, Field: "id", Message: "catalog.error.id_taken"})
		} else {
			v.Retired = old.Retired
		}
	}
	c.putService(v)
	if err := s.revalidate(ctx, c, "service", v.ID); err != nil {
		var more Invalid
		if !errors.As(err, &more) {
			return nil, err
		}
		inv = append(inv, more...)
	}
	return inv, nil
}

// CreateOffice adds a published office.
func (s *Store) CreateOffice(ctx context.Context, ed Editor, o *Office) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		if _, taken := c.AnyOffice(o.ID); taken {
			return Invalid{{Entity: "office:" + o.ID, Field: "id", Path: "id", Message: "catalog.error.id_taken"}}
		}
		o.Retired, o.Version = false, 1
		c.putOffice(o)
		if err := s.revalidate(ctx, c, "office", o.ID); err != nil {
			return err
		}
		if err := insertOffice(ctx, tx, o, now); err != nil {
			return err
		}
		return ed.write(ctx, tx, "catalog.office.created", "office:"+o.ID, map[string]string{"name": o.Name})
	})
}

// UpdateOffice saves an office; o.Version is the version the edit is based
// on, and becomes the new one.
func (s *Store) UpdateOffice(ctx context.Context, ed Editor, o *Office) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		old, ok := c.AnyOffice(o.ID)
		if !ok {
			return ErrNotFound
		}
		if old.Version != o.Version {
			return ErrStale
		}
		o.Retired = old.Retired
		c.putOffice(o)
		if err := s.revalidate(ctx, c, "office", o.ID); err != nil {
			return err
		}
		spec, err := json.Marshal(o.Spec)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE offices SET name = $1, description = $2, address = $3, postal_code = $4, lat = $5, lon = $6, phone = $7,
			email = $8, accessibility = $9, hours = $10, updated_at = $11, version = version + 1 WHERE id = $12 AND version = $13`,
			o.Name, o.Description, o.Address, o.PostalCode, coordinate(o, o.Lat), coordinate(o, o.Lon), o.Phone, o.Email, o.Accessibility,
			string(spec), now, o.ID, o.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		o.Version++
		if err := writeOfficeTranslations(ctx, tx, o); err != nil {
			return err
		}
		return ed.write(ctx, tx, "catalog.office.updated", "office:"+o.ID, map[string]string{
			"changed": strings.Join(changed(officeValues(old), officeValues(o)), ","), "version": strconv.Itoa(o.Version)})
	})
}

// SetOfficeRetired takes an office off the portal (retired) or puts it
// back. An office that published services name stays: they must be moved
// first (InUse lists them).
func (s *Store) SetOfficeRetired(ctx context.Context, ed Editor, id string, retired bool) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		o, ok := c.AnyOffice(id)
		if !ok {
			return ErrNotFound
		}
		if o.Retired == retired {
			return nil
		}
		if retired {
			if uses := serviceUses(c.At(id)); len(uses) > 0 {
				return &InUse{Uses: uses}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE offices SET retired_at = $1, updated_at = $2, version = version + 1 WHERE id = $3`,
			retiredAt(retired, now), now, id); err != nil {
			return err
		}
		action := "catalog.office.restored"
		if retired {
			action = "catalog.office.retired"
		}
		return ed.write(ctx, tx, action, "office:"+id, map[string]string{"name": o.Name})
	})
}

// DeleteOffice removes an office that no service, published or retired,
// names (InUse lists those that do).
func (s *Store) DeleteOffice(ctx context.Context, ed Editor, id string) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		o, ok := c.AnyOffice(id)
		if !ok {
			return ErrNotFound
		}
		if uses := serviceUses(c.Users(id)); len(uses) > 0 {
			return &InUse{Uses: uses}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM offices WHERE id = $1`, id); err != nil {
			return err
		}
		return ed.write(ctx, tx, "catalog.office.deleted", "office:"+id, map[string]string{"name": o.Name})
	})
}

func serviceUses(list []*Service) []Use {
	out := make([]Use, 0, len(list))
	for _, v := range list {
		out = append(out, Use{Kind: "service", Title: v.Title, Href: "/backoffice/servizi/" + v.ID})
	}
	return out
}

// CreateService adds a published service.
func (s *Store) CreateService(ctx context.Context, ed Editor, v *Service) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		if _, taken := c.AnyService(v.ID); taken {
			return Invalid{{Entity: "service:" + v.ID, Field: "id", Path: "id", Message: "catalog.error.id_taken"}}
		}
		v.Retired, v.Version = false, 1
		c.putService(v)
		if err := s.revalidate(ctx, c, "service", v.ID); err != nil {
			return err
		}
		if err := insertService(ctx, tx, v, now); err != nil {
			return err
		}
		if err := indexServices(ctx, s.DB, tx, c.Services); err != nil {
			return err
		}
		return ed.write(ctx, tx, "catalog.service.created", "service:"+v.ID, map[string]string{"title": v.Title})
	})
}

// UpdateService saves a service; v.Version is the version the edit is
// based on, and becomes the new one.
func (s *Store) UpdateService(ctx context.Context, ed Editor, v *Service) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		old, ok := c.AnyService(v.ID)
		if !ok {
			return ErrNotFound
		}
		if old.Version != v.Version {
			return ErrStale
		}
		v.Retired = old.Retired
		c.putService(v)
		if err := s.revalidate(ctx, c, "service", v.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE services SET category = $1, title = $2, status = $3, status_reason = $4, summary = $5, description = $6,
			audience = $7, how_to = $8, needed = $9, outcome = $10, deadlines = $11, max_days = $12, online_url = $13, assurance = $14, channel = $15,
			fees = $16, conditions = $17, topics = $18, audiences = $19, life_events = $20, business_events = $21, updated_at = $22,
			version = version + 1 WHERE id = $23 AND version = $24`,
			v.Category, v.Title, v.Status, v.StatusReason, v.Summary, v.Description, v.Audience, v.HowTo, v.Needed, v.Outcome, v.Deadlines, v.MaxDays,
			v.OnlineURL, v.Assurance, v.Channel, v.Fees, v.Conditions, strings.Join(v.Topics, ","), strings.Join(v.Audiences, ","),
			strings.Join(v.LifeEvents, ","), strings.Join(v.BusinessEvents, ","), now, v.ID, v.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		v.Version++
		if err := writeLinks(ctx, tx, v); err != nil {
			return err
		}
		if err := writeServiceTranslations(ctx, tx, v); err != nil {
			return err
		}
		if err := indexServices(ctx, s.DB, tx, c.Services); err != nil {
			return err
		}
		return ed.write(ctx, tx, "catalog.service.updated", "service:"+v.ID, map[string]string{
			"changed": strings.Join(changed(serviceValues(old), serviceValues(v)), ","), "status": v.Status, "version": strconv.Itoa(v.Version)})
	})
}

// SetServiceRetired takes a service off the portal and the API (retired),
// keeping it, or puts it back; one put back is held to every rule again.
func (s *Store) SetServiceRetired(ctx context.Context, ed Editor, id string, retired bool) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		v, ok := c.AnyService(id)
		if !ok {
			return ErrNotFound
		}
		if v.Retired == retired {
			return nil
		}
		cp := *v
		cp.Retired = retired
		c.putService(&cp)
		if err := s.revalidate(ctx, c, "service", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE services SET retired_at = $1, updated_at = $2, version = version + 1 WHERE id = $3`,
			retiredAt(retired, now), now, id); err != nil {
			return err
		}
		if err := indexServices(ctx, s.DB, tx, c.Services); err != nil {
			return err
		}
		action := "catalog.service.restored"
		if retired {
			action = "catalog.service.retired"
		}
		return ed.write(ctx, tx, action, "service:"+id, map[string]string{"title": v.Title})
	})
}

// DeleteService removes a service nothing refers to: the forms library's
// forms (Uses) and, in time, other features' records. InUse lists them.
func (s *Store) DeleteService(ctx context.Context, ed Editor, id string) error {
	return s.edit(ctx, func(tx *sql.Tx, c *Catalog, now time.Time) error {
		v, ok := c.AnyService(id)
		if !ok {
			return ErrNotFound
		}
		if s.Uses != nil {
			uses, err := s.Uses(ctx, tx, id)
			if err != nil {
				return err
			}
			if len(uses) > 0 {
				return &InUse{Uses: uses}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = $1`, id); err != nil {
			return err
		}
		c.dropService(id)
		if err := c.validate(s.holidays(ctx), func(string, string) bool { return false }); err != nil {
			return err
		}
		if err := indexServices(ctx, s.DB, tx, c.Services); err != nil {
			return err
		}
		return ed.write(ctx, tx, "catalog.service.deleted", "service:"+id, map[string]string{"title": v.Title})
	})
}

// write records a change in the audit log, in the change's transaction.
func (ed Editor) write(ctx context.Context, tx *sql.Tx, action, subject string, details map[string]string) error {
	if ed.Audit == nil {
		return errors.New("catalogue edit without an audit log")
	}
	return ed.Audit.Write(ctx, tx, audit.Entry{Actor: ed.Actor, Action: action, Subject: subject, Remote: ed.Remote, Details: details})
}

// changed names the fields whose values differ, sorted.
func changed(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
