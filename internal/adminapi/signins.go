package adminapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

const maxSignInPage = 1000 // Graph's default and maximum $top for signIns

// signInQuery is a parsed query string of the signIns collection.
type signInQuery struct {
	filter store.SignInFilter
	count  bool
	selct  []string
}

func (a *API) parseSignInQuery(r *http.Request, tenantID string) (signInQuery, error) {
	q := r.URL.Query()
	out := signInQuery{filter: store.SignInFilter{TenantID: tenantID, Limit: maxSignInPage}}
	for key := range q {
		switch key {
		case "$filter", "$top", "$orderby", "$count", "$select", "$skiptoken":
		default:
			if strings.HasPrefix(key, "$") {
				return out, badQuery("Query option '" + key + "' is not supported.")
			}
		}
	}
	if f := q.Get("$filter"); f != "" {
		where, err := odata.Parse(f, store.SignInSchema)
		if err != nil {
			return out, badQuery(err.Error())
		}
		out.filter.Where = where
	}
	top, err := parseTop(q.Get("$top"), maxSignInPage, maxSignInPage)
	if err != nil {
		return out, badQuery(err.Error())
	}
	out.filter.Limit = top
	// Without $orderby, newest first (Graph's default); a named order is
	// ascending unless it says desc, as in OData.
	switch strings.ToLower(strings.Join(strings.Fields(q.Get("$orderby")), " ")) {
	case "", "createddatetime desc":
	case "createddatetime", "createddatetime asc":
		out.filter.Ascending = true
	default:
		return out, badQuery("$orderby supports only createdDateTime (asc or desc).")
	}
	switch c := strings.ToLower(q.Get("$count")); c {
	case "", "false":
	case "true":
		out.count = true
	default:
		return out, badQuery("$count must be true or false.")
	}
	if s := q.Get("$select"); s != "" {
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out.selct = append(out.selct, f)
			}
		}
	}
	out.filter.After, err = skipToken(q)
	return out, err
}

type queryError string

func (e queryError) Error() string { return string(e) }

func badQuery(msg string) error { return queryError(msg) }

// listSignIns is Graph's GET /auditLogs/signIns: newest first, keyset paged
// so pages stay stable while new records arrive.
func (a *API) listSignIns(w http.ResponseWriter, r *http.Request, p *principal) {
	q, err := a.parseSignInQuery(r, p.tenantID)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	rows, err := a.store.FindSignIns(r.Context(), q.filter)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := struct {
		Context  string            `json:"@odata.context"`
		Count    *int64            `json:"@odata.count,omitempty"`
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"@odata.nextLink,omitempty"`
	}{Context: a.odataContext("auditLogs/signIns"), Value: []json.RawMessage{}}
	if q.count {
		n, err := a.store.CountSignIns(r.Context(), p.tenantID, q.filter.Where)
		if err != nil {
			a.internal(w, r, err)
			return
		}
		out.Count = &n
	}
	for _, row := range rows {
		body, err := project(row.Body, q.selct)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		out.Value = append(out.Value, body)
	}
	if len(rows) == q.filter.Limit {
		last := rows[len(rows)-1]
		next := *r.URL
		nq := next.Query()
		nq.Set("$skiptoken", encodeCursor(store.SignInCursor{CreatedAt: last.CreatedAt, ID: last.ID}))
		next.RawQuery = nq.Encode()
		out.NextLink = a.publicURL + next.RequestURI()
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) getSignIn(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	row, err := a.store.GetSignIn(r.Context(), p.tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, codeNotFound, "Sign-in '"+id+"' does not exist.")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(row.Body)
}

// project keeps only the selected top-level properties of a record.
func project(body []byte, fields []string) (json.RawMessage, error) {
	if len(fields) == 0 {
		return body, nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		v, ok := all[f]
		if !ok {
			return nil, badQuery("$select: '" + f + "' is not a property of signIn.")
		}
		out[f] = v
	}
	return json.Marshal(out)
}

func encodeCursor(c store.SignInCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "|" + c.ID))
}

// skipToken is the keyset cursor a $skiptoken carries (nil without one).
func skipToken(q url.Values) (*store.SignInCursor, error) {
	tok := q.Get("$skiptoken")
	if tok == "" {
		return nil, nil
	}
	c, err := decodeCursor(tok)
	if err != nil {
		return nil, badQuery("Invalid $skiptoken.")
	}
	return &c, nil
}

func decodeCursor(s string) (store.SignInCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.SignInCursor{}, err
	}
	micros, id, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" {
		return store.SignInCursor{}, errors.New("bad cursor")
	}
	return store.SignInCursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}

// exportSignIns streams every record matching $filter as CSV or as a JSON
// array (Graph's download shapes): no row limit, memory bounded by one page.
func (a *API) exportSignIns(w http.ResponseWriter, r *http.Request, p *principal) {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "format must be csv or json.")
		return
	}
	q, err := a.parseSignInQuery(r, p.tenantID)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	name := "SignIns_" + a.now().UTC().Format("2006-01-02T15-04-05") + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}[format])
	if err := signinlog.Export(r.Context(), a.store, q.filter, format, w); err != nil {
		// Headers are gone: the truncated body is the signal (a JSON array
		// without its closing bracket, a CSV without its last rows).
		a.logger.Error("sign-in export failed part way", "error", err, "request_id", httpx.RequestID(r.Context()))
	}
}
