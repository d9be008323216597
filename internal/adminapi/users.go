package adminapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// graphUser is Graph's user resource (the properties Portcullis has).
type graphUser struct {
	Context                         string  `json:"@odata.context,omitempty"` // single entities only
	ID                              string  `json:"id"`
	UserPrincipalName               string  `json:"userPrincipalName"`
	DisplayName                     string  `json:"displayName"`
	Mail                            *string `json:"mail"`
	AccountEnabled                  bool    `json:"accountEnabled"`
	CreatedDateTime                 string  `json:"createdDateTime"`
	LastPasswordChangeDateTime      *string `json:"lastPasswordChangeDateTime"`
	SignInSessionsValidFromDateTime *string `json:"signInSessionsValidFromDateTime"`
}

func toGraphUser(u store.User) graphUser {
	g := graphUser{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
		AccountEnabled: u.AccountEnabled, CreatedDateTime: graphTime(u.CreatedAt),
		LastPasswordChangeDateTime:      optionalTime(u.LastPasswordChangeDateTime),
		SignInSessionsValidFromDateTime: optionalTime(u.SignInSessionsValidFrom)}
	if u.Mail != "" {
		g.Mail = &u.Mail
	}
	return g
}

func graphTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := graphTime(t)
	return &s
}

// collection is Graph's list envelope.
type collection[T any] struct {
	Context  string `json:"@odata.context"`
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink,omitempty"`
}

func (a *API) odataContext(entity string) string { return a.publicURL + "/v1.0/$metadata#" + entity }

func (a *API) getMe(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.app {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "/me request is only valid with delegated authentication flow.")
		return
	}
	g := toGraphUser(p.user)
	g.Context = a.odataContext("users/$entity")
	httpx.WriteJSON(w, http.StatusOK, g)
}

const (
	defaultTop = 100
	maxTop     = 999 // Graph's maximum page size for users
)

// listUsers pages through the tenant's users by UPN. $filter supports
// userPrincipalName eq '...', id eq '...' and
// startswith(userPrincipalName,'...').
func (a *API) listUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	top, err := parseTop(q.Get("$top"), defaultTop, maxTop)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	f := q.Get("$filter")
	prefix, isPrefix := parseUPNPrefix(f)
	if f != "" && !isPrefix {
		a.filterUsers(w, r, p, f)
		return
	}
	after := ""
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid $skiptoken.")
			return
		}
		after = string(b)
	}
	users, err := a.listUsersFrom(r, p.tenantID, prefix, after, top+1)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := collection[graphUser]{Context: a.odataContext("users"), Value: []graphUser{}}
	if len(users) > top {
		users = users[:top]
		next := *r.URL
		nq := next.Query()
		nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(users[top-1].LoginKey)))
		next.RawQuery = nq.Encode()
		out.NextLink = a.publicURL + next.RequestURI()
	}
	for _, u := range users {
		out.Value = append(out.Value, toGraphUser(u))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

var upnPrefixFilter = regexp.MustCompile(`^\s*startswith\(\s*userPrincipalName\s*,\s*'((?:[^']|'')*)'\s*\)\s*$`)

// parseUPNPrefix reads startswith(userPrincipalName,'...'): the prefix,
// lowercased as sign-in names are kept.
func parseUPNPrefix(f string) (string, bool) {
	m := upnPrefixFilter.FindStringSubmatch(f)
	if m == nil {
		return "", false
	}
	return strings.ToLower(strings.ReplaceAll(m[1], "''", "'")), true
}

// listUsersFrom is a page of users in sign-in name order after after, and
// with a prefix only those whose name starts with it: every such name is
// the prefix itself or sorts right after it.
func (a *API) listUsersFrom(r *http.Request, tenantID, prefix, after string, limit int) ([]store.User, error) {
	if prefix == "" {
		return a.store.ListUsers(r.Context(), tenantID, after, limit)
	}
	var out []store.User
	if after == "" {
		if u, err := a.store.UserByLogin(r.Context(), tenantID, prefix); err == nil && u.LoginKey == prefix {
			out = append(out, u)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		after = prefix
	}
	users, err := a.store.ListUsers(r.Context(), tenantID, after, limit)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if !strings.HasPrefix(u.LoginKey, prefix) {
			break
		}
		out = append(out, u)
	}
	return out[:min(len(out), limit)], nil
}

func (a *API) filterUsers(w http.ResponseWriter, r *http.Request, p *principal, filter string) {
	prop, value, ok := parseEqFilter(filter)
	if !ok || (prop != "userPrincipalName" && prop != "id") {
		writeError(w, r, http.StatusBadRequest, codeBadRequest,
			"Unsupported $filter: only userPrincipalName eq '...' and id eq '...' are supported on users.")
		return
	}
	out := collection[graphUser]{Context: a.odataContext("users"), Value: []graphUser{}}
	u, err := a.findUser(r, p.tenantID, value)
	switch {
	case err == nil && (prop == "id" && u.ID == value || prop == "userPrincipalName" && u.ID != value):
		out.Value = append(out.Value, toGraphUser(u))
	case err != nil && !errors.Is(err, store.ErrNotFound):
		a.internal(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// parseEqFilter parses "<property> eq '<value>'" with ” as an escaped quote.
func parseEqFilter(f string) (string, string, bool) {
	prop, rest, ok := strings.Cut(strings.TrimSpace(f), " eq ")
	rest = strings.TrimSpace(rest)
	if !ok || len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
		return "", "", false
	}
	inner := rest[1 : len(rest)-1]
	if strings.Count(inner, "'")%2 != 0 {
		return "", "", false
	}
	return strings.TrimSpace(prop), strings.ReplaceAll(inner, "''", "'"), true
}

func parseTop(s string, def, limit int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > limit {
		return 0, errors.New("Invalid value for $top: must be from 1 to " + strconv.Itoa(limit) + ".")
	}
	return n, nil
}

// findUser resolves an object ID or a sign-in name (UPN or mail); a name
// that cannot be one is simply not found.
func (a *API) findUser(r *http.Request, tenantID, idOrName string) (store.User, error) {
	u, err := a.dir.FindUser(r.Context(), store.Tenant{ID: tenantID}, idOrName)
	if errors.Is(err, directory.ErrInvalidName) {
		return u, store.ErrNotFound
	}
	return u, err
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u, ok := a.userFromPath(w, r, p)
	if !ok {
		return
	}
	g := toGraphUser(u)
	g.Context = a.odataContext("users/$entity")
	w.Header().Set("ETag", etagOf(u))
	httpx.WriteJSON(w, http.StatusOK, g)
}

// userFromPath resolves {id} or answers 404.
func (a *API) userFromPath(w http.ResponseWriter, r *http.Request, p *principal) (store.User, bool) {
	id := r.PathValue("id")
	u, err := a.findUser(r, p.tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, codeNotFound, "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return u, false
	}
	if err != nil {
		a.internal(w, r, err)
		return u, false
	}
	return u, true
}

func (a *API) internal(w http.ResponseWriter, r *http.Request, err error) {
	a.logger.Error("admin API request failed", "error", err, "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()))
	writeError(w, r, http.StatusInternalServerError, codeInternal, "The server could not complete the request.")
}
