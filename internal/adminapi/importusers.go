package adminapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// MaxImportBytes bounds an online import's CSV; larger files are imported
// offline (`portcullis users import --data DIR`), where memory and CPU are
// the operator's to spend.
const MaxImportBytes = 64 << 20

// maxImportDetails bounds the problems listed in a refused import's error.
const maxImportDetails = 1000

// importUsers creates every user of a CSV file (the offline CLI's format)
// or none. Plaintext passwords are hashed on a quarter of the cores, so an
// import never takes the server's sign-in capacity; one import runs at a
// time. Each created user gets its own "Add user" audit record, all sharing
// the request's correlation ID and the file's SHA-256.
func (a *API) importUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		writeError(w, r, http.StatusUnsupportedMediaType, codeBadRequest, "Send the users as Content-Type: text/csv.")
		return
	}
	select {
	case a.importing <- struct{}{}:
		defer func() { <-a.importing }()
	default:
		w.Header().Set("Retry-After", "30")
		writeError(w, r, http.StatusTooManyRequests, codeThrottled, "Another import is running; try again when it has finished.")
		return
	}
	tenant, err := a.store.GetTenant(r.Context(), p.tenantID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	digest := sha256.New()
	body := io.TeeReader(http.MaxBytesReader(w, r.Body, MaxImportBytes), digest)
	users, err := a.dir.ImportCSVWorkers(r.Context(), tenant, body, max(1, runtime.NumCPU()/4))
	var tooBig *http.MaxBytesError
	var bad *directory.ImportError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, r, http.StatusRequestEntityTooLarge, codeBadRequest,
			"The CSV is over "+strconv.Itoa(MaxImportBytes>>20)+" MiB: split it, or import it offline with portcullis users import --data DIR.")
		return
	case errors.As(err, &bad):
		writeErrorDetails(w, r, http.StatusBadRequest, codeBadRequest,
			strconv.Itoa(len(bad.Problems))+" problem(s) in the CSV; nothing was imported.", importDetails(bad.Problems))
		return
	case errors.Is(err, directory.ErrInvalid):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	a.auditAll(r, p, importAudits(users, hex.EncodeToString(digest.Sum(nil))))
	a.logger.Info("users imported", "count", len(users), "by", p.id)
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"imported": len(users)})
}

// importDetails turns "line 7: problem" into Graph error details.
func importDetails(problems []string) []errorDetail {
	out := make([]errorDetail, 0, min(len(problems), maxImportDetails))
	for _, pr := range problems[:min(len(problems), maxImportDetails)] {
		target, msg, ok := strings.Cut(pr, ": ")
		if !ok {
			target, msg = "", pr
		}
		out = append(out, errorDetail{Code: "InvalidRow", Message: msg, Target: target})
	}
	return out
}

func importAudits(users []store.User, sha string) []auditEntry {
	out := make([]auditEntry, 0, len(users))
	for _, u := range users {
		out = append(out, auditEntry{category: "UserManagement", activity: "Add user", operation: "Add",
			targets:  []auditTarget{userTarget(u)},
			modified: []modifiedProperty{{DisplayName: "AccountEnabled", NewValue: strconv.FormatBool(u.AccountEnabled)}},
			details:  []keyValue{{Key: "source", Value: "CSV import"}, {Key: "fileSha256", Value: sha}}})
	}
	return out
}
