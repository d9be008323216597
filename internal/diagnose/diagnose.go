// Package diagnose automates Entra's AADSTS50053 troubleshooting guide: for
// one user it reads the sign-in log, the lockout budgets and the IP
// verdicts, says which cause applies (a lock, a blocked address, both, or
// something else) with the evidence and whether it is still in effect,
// flags attack patterns, runs the checks the guide leaves to the admin, and
// lists what the user and the administrator can do, as exact commands.
//
// It reads only; the admin API, the CLI and `signins show` render the same
// Report.
package diagnose

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Store is what a diagnosis reads.
type Store interface {
	store.Users
	store.SignInLogs
	store.SignInSearch
	GetIPBlock(ctx context.Context, id string) (store.IPBlock, error)
}

// Deps wires a diagnosis.
type Deps struct {
	Store Store
	Guard *guard.Guard
	Now   func() time.Time
}

// Query names what to diagnose: a user (UPN, mail or object ID), and/or a
// sign-in by request ID or correlation ID, over a window ending now.
type Query struct {
	TenantID      string
	User          string
	Since         time.Duration // default 24h
	CorrelationID string
	RequestID     string
}

// maxRecords bounds the records one diagnosis reads per query.
const maxRecords = 1000

// ErrNothingToDiagnose: the query named neither a user nor a sign-in.
var ErrNothingToDiagnose = errors.New("name a user (--user), a request ID or a correlation ID")

// Run diagnoses q.
func Run(ctx context.Context, d Deps, q Query) (Report, error) {
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	if q.Since <= 0 {
		q.Since = 24 * time.Hour
	}
	rep := Report{Query: QueryEcho{User: q.User, Since: now.Add(-q.Since).UTC(), Until: now.UTC(),
		CorrelationID: q.CorrelationID, RequestID: q.RequestID}, Now: now.UTC()}
	anchors, err := d.anchorRecords(ctx, q)
	if err != nil {
		return rep, err
	}
	if q.User == "" && len(anchors) > 0 {
		q.User = anchors[0].UserID
		if q.User == "" {
			q.User = anchors[0].UserPrincipalName
		}
	}
	if q.User == "" {
		if q.RequestID != "" || q.CorrelationID != "" {
			return rep, fmt.Errorf("no sign-in record has that request or correlation ID in this tenant")
		}
		return rep, ErrNothingToDiagnose
	}
	user, err := d.findUser(ctx, q.TenantID, q.User)
	if err != nil {
		return rep, err
	}
	records, err := d.failures(ctx, q.TenantID, user, q.User, rep.Query.Since)
	if err != nil {
		return rep, err
	}
	a := analysis{deps: d, tenantID: q.TenantID, now: now, user: user, typed: q.User, records: records, rep: &rep}
	if err := a.run(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// anchorRecords are the records named by request or correlation ID.
func (d Deps) anchorRecords(ctx context.Context, q Query) ([]signinlog.Record, error) {
	var rows []store.SignInRow
	if q.RequestID != "" {
		row, err := d.Store.GetSignIn(ctx, q.TenantID, q.RequestID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			rows = append(rows, row)
		}
	}
	if q.CorrelationID != "" {
		found, err := d.Store.FindSignIns(ctx, store.SignInFilter{TenantID: q.TenantID, Limit: 100,
			Where: eq("correlationId", q.CorrelationID)})
		if err != nil {
			return nil, err
		}
		rows = append(rows, found...)
	}
	return decode(rows)
}

// findUser resolves a UPN, mail or object ID; nil when no user has it.
func (d Deps) findUser(ctx context.Context, tenantID, ref string) (*store.User, error) {
	u, err := d.Store.GetUser(ctx, tenantID, ref)
	if err == nil {
		return &u, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	key, kerr := directory.LoginKey(ref)
	if kerr != nil {
		return nil, nil
	}
	u, err = d.Store.UserByLogin(ctx, tenantID, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// failures are the user's failed sign-ins since since, newest first. A
// refusal for the address happens before the name is looked up, so its
// record carries the name typed but no user ID: those are read by name.
// For a name no user has, the attempts that named it.
func (d Deps) failures(ctx context.Context, tenantID string, u *store.User, typed string, since time.Time) ([]signinlog.Record, error) {
	name := typed
	if display, err := directory.DisplayUPN(typed); err == nil {
		name = display
	}
	queries := []odata.Expr{and(eq("userPrincipalName", name), eq("userId", ""), failed(), after(since))}
	if u != nil {
		queries = []odata.Expr{and(eq("userId", u.ID), failed(), after(since)),
			and(eq("userPrincipalName", u.UserPrincipalName), eq("userId", ""), failed(), after(since))}
	}
	var rows []store.SignInRow
	for _, where := range queries {
		found, err := d.Store.FindSignIns(ctx, store.SignInFilter{TenantID: tenantID, Limit: maxRecords, Where: where})
		if err != nil {
			return nil, err
		}
		rows = append(rows, found...)
	}
	slices.SortFunc(rows, func(a, b store.SignInRow) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return decode(rows[:min(len(rows), maxRecords)])
}

func decode(rows []store.SignInRow) ([]signinlog.Record, error) {
	out := make([]signinlog.Record, 0, len(rows))
	for _, row := range rows {
		r, err := signinlog.FromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Filter builders over the sign-in schema.
func eq(field, v string) odata.Expr {
	return &odata.Compare{Field: field, Op: odata.Eq, Value: odata.Value{Type: odata.String, Str: v}}
}

func failed() odata.Expr {
	return &odata.Compare{Field: "status/errorCode", Op: odata.Ne, Value: odata.Value{Type: odata.Int}}
}

func succeeded() odata.Expr {
	return &odata.Compare{Field: "status/errorCode", Op: odata.Eq, Value: odata.Value{Type: odata.Int}}
}

func after(t time.Time) odata.Expr {
	return &odata.Compare{Field: "createdDateTime", Op: odata.Ge, Value: odata.Value{Type: odata.DateTime, Time: t}}
}

func and(es ...odata.Expr) odata.Expr {
	out := es[0]
	for _, e := range es[1:] {
		out = &odata.And{Left: out, Right: e}
	}
	return out
}
