package adminapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/portcullis-idp/portcullis/internal/diagnose"
	"github.com/portcullis-idp/portcullis/internal/httpx"
)

// maxDiagnoseWindow bounds since: the sign-in log keeps at most this long
// anyway (retention_days' maximum is ten years; a year is plenty to look
// back on one user).
const maxDiagnoseWindow = 366 * 24 * time.Hour

// diagnoseUser is GET /v1.0/portcullis/diagnose?user=&since=&correlationId=&requestId=.
func (a *API) diagnoseUser(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	for key := range q {
		switch key {
		case "user", "since", "correlationId", "requestId":
		default:
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Unknown query parameter '"+key+"' (user, since, correlationId, requestId).")
			return
		}
	}
	query := diagnose.Query{TenantID: p.tenantID, User: q.Get("user"), CorrelationID: q.Get("correlationId"),
		RequestID: q.Get("requestId"), Since: 24 * time.Hour}
	if s := q.Get("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > maxDiagnoseWindow {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "since must be a duration such as 24h or 168h, at most 8784h.")
			return
		}
		query.Since = d
	}
	rep, err := diagnose.Run(r.Context(), diagnose.Deps{Store: a.store, Guard: a.guard, Now: a.now}, query)
	switch {
	case errors.Is(err, diagnose.ErrNothingToDiagnose):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Name a user (user=UPN), a requestId or a correlationId.")
		return
	case err != nil && query.User == "" && (query.RequestID != "" || query.CorrelationID != ""):
		writeError(w, r, http.StatusNotFound, codeNotFound, err.Error())
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
}
