package adminapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// mySignInFields is what people see of their own sign-ins, as Entra's "My
// Sign-ins" shows them: when, which app, from where and with what, and
// whether it worked. The guard's admin-only detail (whether the password
// was right, budgets, matching blocks) is not among them.
var mySignInFields = []string{"id", "createdDateTime", "appDisplayName", "ipAddress", "location", "deviceDetail",
	"clientAppUsed", "isInteractive", "status"}

const (
	mySignInsDefaultTop = 50
	mySignInsMaxTop     = 100
)

// listMySignIns is the caller's own sign-ins of the last user_retention_days
// days, newest first, paged with $top and @odata.nextLink. Any signed-in
// user may call it; it needs no role and shows nobody else's records.
func (a *API) listMySignIns(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.app {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "/me request is only valid with delegated authentication flow.")
		return
	}
	q := r.URL.Query()
	for key := range q {
		if key != "$top" && key != "$skiptoken" {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Query option '"+key+"' is not supported here (only $top and paging).")
			return
		}
	}
	top, err := parseTop(q.Get("$top"), mySignInsDefaultTop, mySignInsMaxTop)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	since := a.now().Add(-time.Duration(a.userRetentionDays) * 24 * time.Hour)
	f := store.SignInFilter{TenantID: p.tenantID, Limit: top, Where: &odata.And{
		Left:  &odata.Compare{Field: "userId", Op: odata.Eq, Value: odata.Value{Type: odata.String, Str: p.id}},
		Right: &odata.Compare{Field: "createdDateTime", Op: odata.Ge, Value: odata.Value{Type: odata.DateTime, Time: since}}}}
	if f.After, err = skipToken(q); err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	rows, err := a.store.FindSignIns(r.Context(), f)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := struct {
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"@odata.nextLink,omitempty"`
	}{Value: []json.RawMessage{}}
	for _, row := range rows {
		body, err := projectPresent(row.Body, mySignInFields)
		if err != nil {
			a.internal(w, r, err)
			return
		}
		out.Value = append(out.Value, body)
	}
	if len(rows) == top {
		last := rows[len(rows)-1]
		next := url.Values{"$top": {q.Get("$top")}, "$skiptoken": {encodeCursor(store.SignInCursor{CreatedAt: last.CreatedAt, ID: last.ID})}}
		if q.Get("$top") == "" {
			next.Del("$top")
		}
		out.NextLink = a.publicURL + r.URL.Path + "?" + next.Encode()
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// projectPresent keeps the fields of a record that it has.
func projectPresent(body []byte, fields []string) (json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return json.Marshal(out)
}
