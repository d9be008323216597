package admincenter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// The Overview: the last 24 hours at a glance, read through the API like
// every other page: the counts from one summary of the span (one scan of
// the log, however busy the day), the locked accounts from the newest
// 50053 refusals and each user's lockout status.

// overviewHours is the chart's span, one bar per hour.
const overviewHours = 24

// overviewCodes is how many error codes the overview lists.
const overviewCodes = 8

// overviewLockedUsers is how many of the users most recently refused for a
// lock the overview looks up (each is an API call).
const overviewLockedUsers = 10

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
	Address  string `json:"ipAddress"`
	Failures int64  `json:"failures"`
	Accounts int64  `json:"accounts"`
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
	Interrupted     int64
	Codes           []codeCount
	Locked          []lockedUser
	Blocks          []store.IPBlock
	Attackers       []addressCount
	AsOf            time.Time // when the counts were taken (they are kept half a minute)
	LockedCapped    bool      // more users were refused for a lock than were looked up
	Live            bool      // the page refreshes its counts by itself (?live=1)
	ShowLog         bool
	ShowLocked      bool
	ShowBlocks      bool
	Error           string
}

func (c *Center) overviewPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	view := overviewView{layout: c.layoutFor(v, "overview", "Overview"), ShowLog: v.can(rbac.SignInsRead), Live: r.URL.Query().Get("live") == "1",
		ShowLocked: v.can(rbac.SignInsRead) && v.can(rbac.LockoutRead), ShowBlocks: v.can(rbac.IPProtectionRead)}
	now := c.now().UTC().Truncate(time.Hour).Add(time.Hour)
	if view.ShowLog {
		if err := c.fillSummary(r, v, &view, now); err != nil {
			view.Error = err.Error()
		}
		if view.ShowLocked {
			c.fillLocked(r, v, &view, now)
		}
	}
	if view.ShowBlocks {
		view.Blocks = values[store.IPBlock](c, r, v, activeBlocksPath)
	}
	c.render(w, http.StatusOK, "overview.html", view)
}

// summary is the API's aggregate of a span of the sign-in log.
type summary struct {
	AsOf        time.Time `json:"asOf"`
	Interrupted int64     `json:"interrupted"`
	Total       int64     `json:"total"`
	Failures    int64     `json:"failures"`
	Intervals   []struct {
		Start    time.Time `json:"start"`
		Total    int64     `json:"total"`
		Failures int64     `json:"failures"`
	} `json:"intervals"`
	ErrorCodes []struct {
		ErrorCode int   `json:"errorCode"`
		Count     int64 `json:"count"`
	} `json:"errorCodes"`
	TopFailingAddresses []addressCount `json:"topFailingAddresses"`
}

// fillSummary reads the last 24 hours' summary and lays out the chart (a
// 720 x 160 drawing, a bar per hour), the error codes and the addresses.
func (c *Center) fillSummary(r *http.Request, v *viewer, view *overviewView, now time.Time) error {
	q := url.Values{"since": {now.Add(-overviewHours * time.Hour).Format(time.RFC3339)}, "until": {now.Format(time.RFC3339)},
		"interval": {"PT1H"}, "top": {"5"}}
	code, body := c.call(r, http.MethodGet, "/v1.0/portcullis/signIns/summary?"+q.Encode(), v.Token, nil, "")
	var sum summary
	if code != http.StatusOK || json.Unmarshal(body, &sum) != nil {
		return fmt.Errorf("%s", apiMessage(code, body))
	}
	view.Total, view.Failures, view.Attackers, view.AsOf = sum.Total, sum.Failures, sum.TopFailingAddresses, sum.AsOf
	view.Interrupted = sum.Interrupted
	for _, c := range sum.ErrorCodes {
		if c.ErrorCode != 0 && len(view.Codes) < overviewCodes {
			view.Codes = append(view.Codes, codeCount{Code: c.ErrorCode, Count: c.Count})
		}
	}
	for _, in := range sum.Intervals {
		view.Bars = append(view.Bars, hourBar{Label: in.Start.UTC().Format("15:00"), Total: in.Total, Failures: in.Failures})
		view.Max = max(view.Max, in.Total)
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

// lockRefusals reads the newest refusals for a lock in the span (names
// only): whose lockout status to look up.
func (c *Center) lockRefusals(r *http.Request, v *viewer, now time.Time) []signinlog.Record {
	filter := "createdDateTime ge " + now.Add(-overviewHours*time.Hour).Format(time.RFC3339) + " and status/errorCode eq 50053"
	q := url.Values{"$top": {"200"}, "$filter": {filter}, "$select": {"userId,userPrincipalName,userDisplayName"}}
	return values[signinlog.Record](c, r, v, "/v1.0/auditLogs/signIns?"+q.Encode())
}

// fillLocked finds the users refused as locked in the span and keeps
// those still locked now (at most 10 looked up).
func (c *Center) fillLocked(r *http.Request, v *viewer, view *overviewView, now time.Time) {
	recs := c.lockRefusals(r, v, now)
	seen := map[string]bool{}
	for _, rec := range recs {
		if rec.UserID == "" || seen[rec.UserID] {
			continue
		}
		if len(seen) >= overviewLockedUsers {
			view.LockedCapped = true // more were refused than are looked up
			break
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
