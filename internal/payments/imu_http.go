package payments

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// IMUPositionsPerDay is how many IMU calculations an account may turn
// into positions in a day: each writes a position, its notices and their
// transfers.
const IMUPositionsPerDay = 20

// IMUData is the calculator's form and result.
type IMUData struct {
	Values   map[string]string
	Errors   problem.Fields
	Result   *IMUResult
	Euro     map[string]string
	Years    []int
	Sources  string
	Delibera string
}

func (h *Web) imuPage(w http.ResponseWriter, r *http.Request, status int, d *IMUData) {
	page := h.App.NewPage(r, "payments.imu.title")
	page.Description = page.T("payments.imu.lead")
	page.Breadcrumb = []web.Crumb{{Label: page.T("payments.area"), Href: "/profilo"}, {Label: page.T("payments.mine.title"), Href: AreaPath}, {Label: page.Title}}
	for y := range h.Rates.Years {
		n, _ := strconv.Atoi(y)
		d.Years = append(d.Years, n)
	}
	if yr, ok := h.Rates.Year(h.Svc.now().Year()); ok {
		d.Delibera = yr.IMU.Deliberation
	}
	d.Sources = h.Rates.Note
	if d.Values == nil {
		d.Values = map[string]string{"year": strconv.Itoa(h.Svc.now().Year()), "share": "100", "months": "12"}
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "payments_imu", page)
}

func (h *Web) imuForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.debtor(w, r); !ok {
		return
	}
	h.imuPage(w, r, http.StatusOK, &IMUData{})
}

// imuInput reads the calculator's form; the fields wrong are named.
func imuInput(f url.Values) (IMUInput, map[string]string, problem.Fields) {
	values := map[string]string{}
	for _, k := range []string{"rendita", "category", "share", "months", "main_home", "halved", "year"} {
		values[k] = strings.TrimSpace(f.Get(k))
	}
	fe := problem.Fields{}
	in := IMUInput{Category: values["category"], MainHome: values["main_home"] != "", Halved: values["halved"] != ""}
	var ok bool
	if in.Rendita, ok = ParseCents(values["rendita"]); !ok || in.Rendita <= 0 {
		fe["rendita"] = "payments.imu.error.rendita"
	}
	if Multiplier(in.Category) == 0 {
		fe["category"] = "payments.imu.error.category"
	}
	var err error
	if in.SharePercent, err = strconv.Atoi(values["share"]); err != nil || in.SharePercent < 1 || in.SharePercent > 100 {
		fe["share"] = "payments.imu.error.share"
	}
	if in.Months, err = strconv.Atoi(values["months"]); err != nil || in.Months < 1 || in.Months > 12 {
		fe["months"] = "payments.imu.error.months"
	}
	if in.Year, err = strconv.Atoi(values["year"]); err != nil {
		fe["year"] = "payments.imu.error.year"
	}
	return in, values, fe
}

func (h *Web) calculate(w http.ResponseWriter, r *http.Request) (IMUInput, *IMUResult, bool) {
	in, values, fe := imuInput(r.PostForm)
	var res IMUResult
	if len(fe) == 0 {
		var err error
		res, err = h.Rates.CalculateIMU(in)
		var ie *ErrIMU
		if errors.As(err, &ie) {
			fe[ie.Field] = "payments.imu.error." + ie.Field
		} else if err != nil {
			h.App.Fail(w, r, err)
			return in, nil, false
		}
	}
	if len(fe) > 0 {
		h.imuPage(w, r, http.StatusUnprocessableEntity, &IMUData{Values: values, Errors: fe})
		return in, nil, false
	}
	return in, &res, true
}

func (h *Web) imu(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	if _, ok := h.debtor(w, r); !ok {
		return
	}
	_, res, ok := h.calculate(w, r)
	if !ok {
		return
	}
	_, values, _ := imuInput(r.PostForm)
	h.imuPage(w, r, http.StatusOK, &IMUData{Values: values, Result: res, Euro: map[string]string{"base": Euro(res.Base), "tax": Euro(res.Tax),
		"state": Euro(res.State), "june": Euro(res.June), "dec": Euro(res.Dec), "deduction": Euro(res.Deduction)}})
}

// imuPay turns a result into a payable position: recomputed here from
// the inputs, never from a posted amount.
func (h *Web) imuPay(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	in, res, ok := h.calculate(w, r)
	if !ok {
		return
	}
	if res.Tax <= 0 {
		web.Redirect(w, r, AreaPath+"/imu", nil)
		return
	}
	p := IMUPosition(code, in, *res)
	if a, _ := identityName(r); a != "" {
		p.DebtorName = a
	}
	// The budget is drawn in the position's transaction: a calculation
	// turned into a position before spends nothing.
	err := h.Svc.DB.Tx(r.Context(), func(tx *sql.Tx) error {
		if h.Limiter != nil {
			a, _ := identity.Current(r.Context())
			if err := h.Limiter.Take(r.Context(), tx, throttle.Key{Name: "payments:imu:" + a.ID, Rule: throttle.Rule{Free: IMUPositionsPerDay, Window: 24 * time.Hour}}); err != nil {
				return err
			}
		}
		_, err := h.Svc.CreateTx(r.Context(), tx, p, actorOf(r))
		return err
	})
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		h.App.Fail(w, r, &problem.Error{Kind: problem.Throttled, Retry: refused.Wait, Err: err})
		return
	}
	var fe problem.Fields
	if errors.As(err, &fe) && fe["external_id"] == "payments.error.duplicate" {
		// The same calculation turned into a position before: it is there.
		web.Redirect(w, r, AreaPath, url.Values{"imu": {"1"}})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, AreaPath, url.Values{"imu": {"1"}})
}
