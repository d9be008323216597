package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// DirectoryAudit is Graph's directoryAudit resource, as the API writes and
// answers it (the CLI and the admin center read it with this type too).
type DirectoryAudit struct {
	ID                  string        `json:"id"`
	Category            string        `json:"category"`
	CorrelationID       string        `json:"correlationId"`
	Result              string        `json:"result"`
	ResultReason        string        `json:"resultReason"`
	ActivityDisplayName string        `json:"activityDisplayName"`
	ActivityDateTime    string        `json:"activityDateTime"`
	LoggedByService     string        `json:"loggedByService"`
	OperationType       string        `json:"operationType"`
	InitiatedBy         initiatedBy   `json:"initiatedBy"`
	TargetResources     []auditTarget `json:"targetResources"`
	AdditionalDetails   []keyValue    `json:"additionalDetails"`
}

type initiatedBy struct {
	User *auditUser `json:"user"`
	App  *auditApp  `json:"app"`
}

type auditUser struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	IPAddress         string `json:"ipAddress"`
}

type auditApp struct {
	AppID              string `json:"appId"`
	DisplayName        string `json:"displayName"`
	ServicePrincipalID string `json:"servicePrincipalId"`
}

type auditTarget struct {
	ID                 string             `json:"id"`
	DisplayName        string             `json:"displayName"`
	Type               string             `json:"type"`
	UserPrincipalName  string             `json:"userPrincipalName,omitempty"`
	ModifiedProperties []modifiedProperty `json:"modifiedProperties"`
}

type modifiedProperty struct {
	DisplayName string `json:"displayName"`
	OldValue    string `json:"oldValue"`
	NewValue    string `json:"newValue"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// auditEntry is what a handler knows about its change.
type auditEntry struct {
	category, activity, operation string
	targets                       []auditTarget
	modified                      []modifiedProperty // attached to the first target
	failure                       string             // non-empty: the change was refused
	details                       []keyValue
}

// audit appends the record; a failure to do so is logged loudly but does
// not undo the change already made.
func (a *API) audit(r *http.Request, p *principal, e auditEntry) {
	a.auditAll(r, p, []auditEntry{e})
}

// auditAll appends the records of one request in one write.
func (a *API) auditAll(r *http.Request, p *principal, entries []auditEntry) {
	if len(entries) == 0 {
		return
	}
	rows := make([]store.AuditRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, a.auditRow(r, p, e))
	}
	if err := a.store.AppendAudit(ctxDetached(r), rows...); err != nil {
		a.logger.Error("writing audit records failed", "error", err, "activity", entries[0].activity,
			"records", len(rows), "initiated_by", p.id)
	}
}

func (a *API) auditRow(r *http.Request, p *principal, e auditEntry) store.AuditRow {
	rec := DirectoryAudit{ID: uuid.NewString(), Category: e.category, CorrelationID: httpx.CorrelationID(r.Context()),
		Result: "success", ActivityDisplayName: e.activity, ActivityDateTime: a.now().UTC().Format(time.RFC3339Nano),
		LoggedByService: "Core Directory", OperationType: e.operation, TargetResources: e.targets,
		AdditionalDetails: append(e.details, keyValue{Key: "request-id", Value: httpx.RequestID(r.Context())})}
	if e.failure != "" {
		rec.Result, rec.ResultReason = "failure", e.failure
	}
	for i := range rec.TargetResources {
		if rec.TargetResources[i].ModifiedProperties == nil {
			rec.TargetResources[i].ModifiedProperties = []modifiedProperty{}
		}
	}
	if len(rec.TargetResources) > 0 && e.modified != nil {
		rec.TargetResources[0].ModifiedProperties = e.modified
	}
	if rec.TargetResources == nil {
		rec.TargetResources = []auditTarget{}
	}
	ip := httpx.ClientIP(r.Context()).String()
	if p.app {
		rec.InitiatedBy.App = &auditApp{AppID: p.id, DisplayName: p.name, ServicePrincipalID: p.id}
	} else {
		rec.InitiatedBy.User = &auditUser{ID: p.id, DisplayName: p.name, UserPrincipalName: p.upn, IPAddress: ip}
	}
	body, _ := json.Marshal(rec)
	row := store.AuditRow{ID: rec.ID, TenantID: p.tenantID, CreatedAt: a.now(), Category: rec.Category,
		Activity: rec.ActivityDisplayName, Result: rec.Result, InitiatedBy: p.id, CorrelationID: rec.CorrelationID, Body: body}
	if len(e.targets) > 0 {
		row.TargetID = e.targets[0].ID
	}
	return row
}

// auditDenied records a refused change: who tried what.
func (a *API) auditDenied(r *http.Request, p *principal, route rbac.Route, reason string) {
	a.audit(r, p, auditEntry{category: "Authorization", activity: route.Summary, operation: r.Method,
		failure: "Insufficient privileges: " + reason,
		targets: []auditTarget{{ID: r.PathValue("id"), Type: "Resource", DisplayName: r.URL.Path}}})
}

// listAudits supports $top, $skiptoken (from @odata.nextLink: pages are
// keyset, newest first, stable while records arrive) and a $filter of
// clauses joined by "and": initiatedBy/user/id, initiatedBy/app/appId,
// activityDisplayName and targetResources/id with eq, and activityDateTime
// with ge or le.
func (a *API) listAudits(w http.ResponseWriter, r *http.Request, p *principal) {
	q := store.AuditQuery{TenantID: p.tenantID}
	query := r.URL.Query()
	top, err := parseTop(query.Get("$top"), defaultTop, 1000)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	q.Limit = top + 1 // one more than shown: whether there is a next page
	if f := query.Get("$filter"); f != "" {
		if err := applyAuditFilter(&q, f); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
	}
	if q.After, err = skipToken(query); err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	rows, err := a.store.QueryAudits(r.Context(), q)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := collection[json.RawMessage]{Context: a.odataContext("auditLogs/directoryAudits"), Value: []json.RawMessage{}}
	if len(rows) > top {
		rows = rows[:top]
		last := rows[top-1]
		query.Set("$skiptoken", encodeCursor(store.SignInCursor{CreatedAt: last.CreatedAt, ID: last.ID}))
		out.NextLink = a.publicURL + r.URL.Path + "?" + query.Encode()
	}
	for _, row := range rows {
		out.Value = append(out.Value, row.Body)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

var errAuditFilter = authFailure("Unsupported $filter: use clauses joined by 'and': initiatedBy/user/id, initiatedBy/app/appId, " +
	"activityDisplayName or targetResources/id eq '…', activityDateTime ge|le <RFC 3339 time>")

func applyAuditFilter(q *store.AuditQuery, filter string) error {
	for _, clause := range splitAnd(filter) {
		if prop, value, ok := parseEqFilter(clause); ok {
			switch prop {
			case "initiatedBy/user/id", "initiatedBy/app/appId":
				q.InitiatedBy = value
			case "activityDisplayName":
				q.Activity = value
			case "targetResources/id":
				q.TargetID = value
			default:
				return errAuditFilter
			}
			continue
		}
		fields := strings.Fields(clause)
		if len(fields) != 3 || fields[0] != "activityDateTime" {
			return errAuditFilter
		}
		at, err := time.Parse(time.RFC3339, fields[2])
		if err != nil {
			return fmt.Errorf("activityDateTime: %q is not an RFC 3339 time", fields[2])
		}
		switch fields[1] {
		case "ge":
			q.Since = at
		case "le":
			q.Until = at
		default:
			return errAuditFilter
		}
	}
	return nil
}

// splitAnd splits on " and " outside single-quoted strings.
func splitAnd(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote
		case !inQuote && strings.HasPrefix(s[i:], " and "):
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + len(" and ")
			i += len(" and ") - 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// decodeStrict reads a JSON body, refusing unknown fields and trailing data.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, r, http.StatusUnsupportedMediaType, codeBadRequest, "Content-Type must be application/json.")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "Invalid JSON body: " + err.Error()
		if errors.Is(err, io.EOF) {
			msg = "A JSON body is required."
		}
		writeError(w, r, http.StatusBadRequest, codeBadRequest, msg)
		return false
	}
	if dec.More() {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid JSON body: data after the object.")
		return false
	}
	return true
}
