package admincenter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// The Overview: the last 24 hours at a glance, each part read through the
// API like every other page (counts with $count, records with $filter).

// overviewHours is the chart's span, one bar per hour.
const overviewHours = 24

// watchedCodes are the error codes whose counts the overview lists: the
// ones a sign-in failure usually carries.
var watchedCodes = []int{50126, 50053, 50057, 50055, 50034, 50173, 90055, 53003, 7000215}

type hourBar struct {
	Label              string
	Total, Failures    int64
	X, HTotal, HFailed float64 // SVG geometry
	YTotal, YFailed    float64
}

type codeCount struct {
	Code  int
	Count int64
}

type addressCount struct {
	Address  string
	Failures int
	Accounts int
}

type lockedUser struct {
	ID, UPN, Name string
	Until         time.Time
}

type overviewView struct {
	layout
	Bars            []hourBar
	Max             int64
	Total, Failures int64
	Codes           []codeCount
	Locked          []lockedUser
	Blocks          []store.IPBlock
	Attackers       []addressCount
	Sampled         int
	ShowLog         bool
	ShowLocked      bool
	ShowBlocks      bool
	Error           string
}

func (c *Center) overviewPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	view := overviewView{layout: c.layoutFor(v, "overview", "Overview"), ShowLog: v.can(rbac.SignInsRead),
		ShowLocked: v.can(rbac.SignInsRead) && v.can(rbac.LockoutRead), ShowBlocks: v.can(rbac.IPProtectionRead)}
	now := c.now().UTC().Truncate(time.Hour).Add(time.Hour)
	if view.ShowLog {
		if err := c.fillChart(r, v, &view, now); err != nil {
			view.Error = err.Error()
		}
		c.fillCodes(r, v, &view, now)
		c.fillAttackers(r, v, &view, now)
		if view.ShowLocked {
			c.fillLocked(r, v, &view, now)
		}
	}
	if view.ShowBlocks {
		var blocks struct {
			Value []store.IPBlock `json:"value"`
		}
		q := url.Values{"$filter": {"active eq true"}}
		if code, body := c.call(r, http.MethodGet, "/v1.0/portcullis/ipBlocks?"+q.Encode(), v.Token, nil, ""); code == http.StatusOK {
			_ = json.Unmarshal(body, &blocks)
		}
		view.Blocks = blocks.Value
	}
	c.render(w, http.StatusOK, "overview.html", view)
}

// count is the number of sign-ins matching filter.
func (c *Center) count(r *http.Request, v *viewer, filter string) (int64, error) {
	q := url.Values{"$count": {"true"}, "$top": {"1"}, "$filter": {filter}, "$select": {"id"}}
	code, body := c.call(r, http.MethodGet, "/v1.0/auditLogs/signIns?"+q.Encode(), v.Token, nil, "")
	var page struct {
		Count *int64 `json:"@odata.count"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &page) != nil || page.Count == nil {
		return 0, fmt.Errorf("%s", apiMessage(code, body))
	}
	return *page.Count, nil
}

func between24(from, to time.Time) string {
	return "createdDateTime ge " + from.Format(time.RFC3339) + " and createdDateTime le " + to.Add(-time.Microsecond).Format(time.RFC3339Nano)
}

// fillChart counts sign-ins and failures per hour and lays out the bars
// (a 720 x 160 drawing).
func (c *Center) fillChart(r *http.Request, v *viewer, view *overviewView, now time.Time) error {
	for h := overviewHours; h > 0; h-- {
		from, to := now.Add(-time.Duration(h)*time.Hour), now.Add(-time.Duration(h-1)*time.Hour)
		total, err := c.count(r, v, between24(from, to))
		if err != nil {
			return err
		}
		failed, err := c.count(r, v, between24(from, to)+" and status/errorCode ne 0")
		if err != nil {
			return err
		}
		view.Bars = append(view.Bars, hourBar{Label: from.Format("15:00"), Total: total, Failures: failed})
		view.Total, view.Failures = view.Total+total, view.Failures+failed
		view.Max = max(view.Max, total)
	}
	const width, height, gap = 720.0, 160.0, 4.0
	bar := width/overviewHours - gap
	for i := range view.Bars {
		b := &view.Bars[i]
		b.X = float64(i) * (bar + gap)
		if view.Max > 0 {
			b.HTotal = height * float64(b.Total) / float64(view.Max)
			b.HFailed = height * float64(b.Failures) / float64(view.Max)
		}
		b.YTotal, b.YFailed = height-b.HTotal, height-b.HFailed
	}
	return nil
}

func (c *Center) fillCodes(r *http.Request, v *viewer, view *overviewView, now time.Time) {
	span := between24(now.Add(-overviewHours*time.Hour), now)
	for _, code := range watchedCodes {
		n, err := c.count(r, v, span+" and status/errorCode eq "+strconv.Itoa(code))
		if err == nil && n > 0 {
			view.Codes = append(view.Codes, codeCount{Code: code, Count: n})
		}
	}
	slices.SortFunc(view.Codes, func(a, b codeCount) int { return int(b.Count - a.Count) })
}

// failures reads the newest failed sign-ins of the span (at most 1,000):
// the sample the lists below are drawn from.
func (c *Center) failures(r *http.Request, v *viewer, filter string) []signinlog.Record {
	q := url.Values{"$top": {"1000"}, "$filter": {filter}}
	code, body := c.call(r, http.MethodGet, "/v1.0/auditLogs/signIns?"+q.Encode(), v.Token, nil, "")
	var page struct {
		Value []signinlog.Record `json:"value"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &page) != nil {
		return nil
	}
	return page.Value
}

func (c *Center) fillAttackers(r *http.Request, v *viewer, view *overviewView, now time.Time) {
	recs := c.failures(r, v, between24(now.Add(-overviewHours*time.Hour), now)+" and status/errorCode ne 0")
	view.Sampled = len(recs)
	byAddr := map[string]*addressCount{}
	accounts := map[string]map[string]bool{}
	for _, rec := range recs {
		a := byAddr[rec.IPAddress]
		if a == nil {
			a = &addressCount{Address: rec.IPAddress}
			byAddr[rec.IPAddress], accounts[rec.IPAddress] = a, map[string]bool{}
		}
		a.Failures++
		accounts[rec.IPAddress][strings.ToLower(rec.UserPrincipalName)] = true
	}
	for addr, a := range byAddr {
		a.Accounts = len(accounts[addr])
		view.Attackers = append(view.Attackers, *a)
	}
	slices.SortFunc(view.Attackers, func(a, b addressCount) int {
		if a.Failures != b.Failures {
			return b.Failures - a.Failures
		}
		return strings.Compare(a.Address, b.Address)
	})
	view.Attackers = view.Attackers[:min(len(view.Attackers), 5)]
}

// fillLocked finds the users refused as locked in the span and keeps
// those still locked now (at most 10 looked up).
func (c *Center) fillLocked(r *http.Request, v *viewer, view *overviewView, now time.Time) {
	recs := c.failures(r, v, between24(now.Add(-overviewHours*time.Hour), now)+" and status/errorCode eq 50053")
	seen := map[string]bool{}
	for _, rec := range recs {
		if rec.UserID == "" || seen[rec.UserID] || len(seen) >= 10 {
			continue
		}
		seen[rec.UserID] = true
		code, body := c.call(r, http.MethodGet, "/v1.0/portcullis/users/"+url.PathEscape(rec.UserID)+"/lockout", v.Token, nil, "")
		var st guard.Status
		if code != http.StatusOK || json.Unmarshal(body, &st) != nil || !st.Locked {
			continue
		}
		u := lockedUser{ID: rec.UserID, UPN: rec.UserPrincipalName, Name: rec.UserDisplayName}
		for _, b := range st.Budgets {
			if b.Locked && b.LockedUntil.After(u.Until) {
				u.Until = b.LockedUntil
			}
		}
		view.Locked = append(view.Locked, u)
	}
}
