package adminapi

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/geo"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

const (
	ipLocationType      = "#microsoft.graph.ipNamedLocation"
	countryLocationType = "#microsoft.graph.countryNamedLocation"
)

// namedLocation is Graph's ipNamedLocation or countryNamedLocation.
type namedLocation struct {
	ODataType                         string    `json:"@odata.type"`
	ID                                string    `json:"id,omitempty"`
	DisplayName                       string    `json:"displayName"`
	CreatedDateTime                   string    `json:"createdDateTime,omitempty"`
	IsTrusted                         *bool     `json:"isTrusted,omitempty"`
	IPRanges                          []ipRange `json:"ipRanges,omitempty"`
	CountriesAndRegions               []string  `json:"countriesAndRegions,omitempty"`
	IncludeUnknownCountriesAndRegions *bool     `json:"includeUnknownCountriesAndRegions,omitempty"`
}

type ipRange struct {
	ODataType   string `json:"@odata.type"`
	CIDRAddress string `json:"cidrAddress"`
}

func toNamedLocation(l store.NamedLocation) namedLocation {
	out := namedLocation{ID: l.ID, DisplayName: l.DisplayName, CreatedDateTime: graphTime(l.CreatedAt)}
	if len(l.CIDRs) > 0 {
		trusted := l.Trusted
		out.ODataType, out.IsTrusted = ipLocationType, &trusted
		for _, c := range l.CIDRs {
			kind := "#microsoft.graph.iPv4CidrRange"
			if strings.Contains(c, ":") {
				kind = "#microsoft.graph.iPv6CidrRange"
			}
			out.IPRanges = append(out.IPRanges, ipRange{ODataType: kind, CIDRAddress: c})
		}
		return out
	}
	unknown := l.IncludeUnknownCountries
	out.ODataType, out.CountriesAndRegions, out.IncludeUnknownCountriesAndRegions = countryLocationType, l.Countries, &unknown
	return out
}

func (a *API) listLocations(w http.ResponseWriter, r *http.Request, p *principal) {
	stored, err := a.store.ListNamedLocations(r.Context(), p.tenantID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := collection[namedLocation]{Context: a.odataContext("identity/conditionalAccess/namedLocations"), Value: []namedLocation{}}
	for _, l := range stored {
		out.Value = append(out.Value, toNamedLocation(l))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// createLocation validates like the CLI (every problem at once) and makes
// the location effective at once.
func (a *API) createLocation(w http.ResponseWriter, r *http.Request, p *principal) {
	var req namedLocation
	if !decodeStrict(w, r, &req) {
		return
	}
	l := geo.NamedLocation{Name: strings.TrimSpace(req.DisplayName)}
	switch req.ODataType {
	case ipLocationType:
		if req.CountriesAndRegions != nil || req.IncludeUnknownCountriesAndRegions != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "An ipNamedLocation has ipRanges, not countries.")
			return
		}
		l.Trusted = req.IsTrusted != nil && *req.IsTrusted
		for _, rg := range req.IPRanges {
			pfx, err := netip.ParsePrefix(strings.TrimSpace(rg.CIDRAddress))
			if err != nil {
				writeError(w, r, http.StatusBadRequest, codeBadRequest, "ipRanges: "+err.Error())
				return
			}
			l.CIDRs = append(l.CIDRs, pfx.Masked())
		}
	case countryLocationType:
		if req.IPRanges != nil || req.IsTrusted != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "A countryNamedLocation has countries, not ipRanges or isTrusted.")
			return
		}
		l.IncludeUnknownCountries = req.IncludeUnknownCountriesAndRegions != nil && *req.IncludeUnknownCountriesAndRegions
		for _, c := range req.CountriesAndRegions {
			l.Countries = append(l.Countries, strings.ToUpper(strings.TrimSpace(c)))
		}
	default:
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "@odata.type must be "+ipLocationType+" or "+countryLocationType+".")
		return
	}
	if err := l.Validate(); err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid named location: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	sl := store.NamedLocation{ID: uuid.NewString(), TenantID: p.tenantID, DisplayName: l.Name, Countries: l.Countries,
		IncludeUnknownCountries: l.IncludeUnknownCountries, Trusted: l.Trusted, CreatedAt: a.now().UTC()}
	for _, c := range l.CIDRs {
		sl.CIDRs = append(sl.CIDRs, c.String())
	}
	err := a.store.CreateNamedLocation(r.Context(), sl)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, r, http.StatusConflict, codeConflict, "A named location called '"+l.Name+"' already exists.")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.refreshIP(r)
	a.audit(r, p, auditEntry{category: "Policy", activity: "Add named location", operation: "Add",
		targets:  []auditTarget{{ID: sl.ID, DisplayName: sl.DisplayName, Type: "NamedLocation"}},
		modified: []modifiedProperty{{DisplayName: "Definition", NewValue: describeLocation(sl)}}})
	out := toNamedLocation(sl)
	w.Header().Set("Location", a.publicURL+"/v1.0/identity/conditionalAccess/namedLocations/"+sl.ID)
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (a *API) deleteLocation(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	err := a.store.DeleteNamedLocation(r.Context(), p.tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, codeNotFound, "Named location '"+id+"' does not exist.")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.refreshIP(r)
	a.audit(r, p, auditEntry{category: "Policy", activity: "Delete named location", operation: "Delete",
		targets: []auditTarget{{ID: id, Type: "NamedLocation"}}})
	w.WriteHeader(http.StatusNoContent)
}

// refreshIP makes a change effective now; if it fails, the guard's poll
// picks the change up within seconds anyway.
func (a *API) refreshIP(r *http.Request) {
	if err := a.guard.RefreshIP(r.Context()); err != nil {
		a.logger.Warn("reloading IP protection after an API change failed; the next poll will", "error", err)
	}
}

func describeLocation(l store.NamedLocation) string {
	if len(l.CIDRs) > 0 {
		return "ipRanges=" + strings.Join(l.CIDRs, ",") + map[bool]string{true: " trusted", false: ""}[l.Trusted]
	}
	return "countries=" + strings.Join(l.Countries, ",")
}
