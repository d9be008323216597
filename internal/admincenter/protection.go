package admincenter

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// policy is the lockout policy as the API answers it.
type policy struct {
	LockoutThreshold            int  `json:"lockoutThreshold"`
	LockoutDurationInSeconds    int  `json:"lockoutDurationInSeconds"`
	MaxLockoutDurationInSeconds int  `json:"maxLockoutDurationInSeconds"`
	ObservationWindowInSeconds  int  `json:"observationWindowInSeconds"`
	IsTenantOverride            bool `json:"isTenantOverride"`
}

type feed struct {
	Name                string  `json:"name"`
	Source              string  `json:"source"`
	Category            string  `json:"category"`
	Action              string  `json:"action"`
	Prefixes            int     `json:"prefixes"`
	LastSuccessDateTime *string `json:"lastSuccessDateTime"`
	LastError           string  `json:"lastError"`
}

type location struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	IsTrusted   *bool  `json:"isTrusted"`
	IPRanges    []struct {
		CIDRAddress string `json:"cidrAddress"`
	} `json:"ipRanges"`
	CountriesAndRegions []string `json:"countriesAndRegions"`
}

type protectionView struct {
	layout
	Policy     *policy
	PolicyETag string
	Blocks     []store.IPBlock
	Feeds      []feed
	Locations  []location
	Can        map[string]bool
	Done       string
	Error      string
	Problems   map[string]string
}

func (c *Center) protectionPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	view := c.loadProtection(r, v)
	view.Done = map[string]string{"policy": "The lockout policy is saved.", "blocked": "The address is blocked.",
		"unblocked": "The block is revoked.", "location": "The named location is added.",
		"location-deleted": "The named location is removed."}[r.URL.Query().Get("done")]
	c.render(w, http.StatusOK, "protection.html", view)
}

// activeBlocksPath lists the IP blocks in force.
const activeBlocksPath = "/v1.0/portcullis/ipBlocks?%24filter=active+eq+true"

// loadProtection reads each section the viewer's roles can read.
func (c *Center) loadProtection(r *http.Request, v *viewer) protectionView {
	view := protectionView{layout: c.layoutFor(v, "protection", "Protection"), Problems: map[string]string{}, Can: map[string]bool{
		"policy": v.can(rbac.LockoutPolicyWrite), "block": v.can(rbac.IPProtectionWrite), "locations": v.can(rbac.NamedLocationsWrite)}}
	if v.can(rbac.LockoutPolicyRead) {
		code, body, header := c.callWith(r, http.MethodGet, "/v1.0/portcullis/lockoutPolicy", v.Token, nil, nil)
		var p policy
		if code == http.StatusOK && json.Unmarshal(body, &p) == nil {
			view.Policy, view.PolicyETag = &p, header.Get("ETag")
		}
	}
	if v.can(rbac.IPProtectionRead) {
		view.Blocks = values[store.IPBlock](c, r, v, activeBlocksPath)
		view.Feeds = values[feed](c, r, v, "/v1.0/portcullis/feeds")
		view.Locations = values[location](c, r, v, "/v1.0/identity/conditionalAccess/namedLocations")
	}
	return view
}

// protectionAction runs one of the protection page's forms through the API.
func (c *Center) protectionAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	if r.PostFormValue("csrf") != v.CSRF {
		answeredAt(w, "false")
		c.renderError(w, v, http.StatusForbidden, "The form has expired", "Go back, reload the page and try again.")
		return
	}
	answeredAt(w, "/admin/protection")
	var code int
	var body []byte
	var problems map[string]string
	done := r.PathValue("action")
	switch done {
	case "policy":
		code, body, problems = c.savePolicy(r, v)
	case "blocked":
		code, body, problems = c.blockAddress(r, v)
	case "unblocked":
		q := url.Values{"reason": {"unblocked in the admin center"}}
		code, body = c.call(r, http.MethodDelete, "/v1.0/portcullis/ipBlocks/"+url.PathEscape(r.PathValue("id"))+"?"+q.Encode(), v.Token, nil, "")
	case "location":
		code, body, problems = c.addLocation(r, v)
	case "location-deleted":
		code, body = c.call(r, http.MethodDelete, "/v1.0/identity/conditionalAccess/namedLocations/"+url.PathEscape(r.PathValue("id")),
			v.Token, nil, "")
	default:
		http.NotFound(w, r)
		return
	}
	if len(problems) > 0 || code >= 300 {
		view := c.loadProtection(r, v)
		if len(problems) > 0 {
			view.Problems, code = problems, http.StatusBadRequest
		} else {
			view.Error = apiMessage(code, body)
		}
		c.render(w, max(code, http.StatusBadRequest), "protection.html", view)
		return
	}
	http.Redirect(w, r, "/admin/protection?done="+done, http.StatusSeeOther)
}

// maxBlockHours bounds a block's length in the form (longer is "until
// revoked"), far below where hours would overflow a duration.
const maxBlockHours = 10 * 365 * 24

// savePolicy sends the policy form as a PATCH with the ETag the form was
// drawn from: if another administrator saved in between, the API answers
// 412 and nothing is overwritten.
func (c *Center) savePolicy(r *http.Request, v *viewer) (int, []byte, map[string]string) {
	problems := map[string]string{}
	fields := map[string]string{"threshold": "lockoutThreshold", "duration": "lockoutDurationInSeconds",
		"maxDuration": "maxLockoutDurationInSeconds", "window": "observationWindowInSeconds"}
	patch := map[string]int{}
	for form, key := range fields {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(form)))
		if err != nil || n < 1 {
			problems[form] = "Enter a whole number of at least 1."
			continue
		}
		patch[key] = n
	}
	if len(problems) > 0 {
		return 0, nil, problems
	}
	payload, _ := json.Marshal(patch)
	code, body, _ := c.callWith(r, http.MethodPatch, "/v1.0/portcullis/lockoutPolicy", v.Token, bytes.NewReader(payload),
		http.Header{"Content-Type": {"application/json"}, "If-Match": {r.PostFormValue("etag")}})
	if code == http.StatusPreconditionFailed {
		return code, []byte(`{"error":{"message":"Another administrator changed the policy while you edited it. ` +
			`Their values are shown; apply your change again."}}`), nil
	}
	return code, body, nil
}

func (c *Center) blockAddress(r *http.Request, v *viewer) (int, []byte, map[string]string) {
	prefix := strings.TrimSpace(r.PostFormValue("prefix"))
	if prefix == "" {
		return 0, nil, map[string]string{"prefix": "Enter an address or a CIDR range, such as 203.0.113.7 or 203.0.113.0/24."}
	}
	req := map[string]string{"prefix": prefix, "reason": strings.TrimSpace(r.PostFormValue("reason"))}
	if h := strings.TrimSpace(r.PostFormValue("hours")); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 1 || n > maxBlockHours {
			return 0, nil, map[string]string{"hours": "Enter a whole number of hours up to 87600 (ten years), or leave it empty to block until revoked."}
		}
		req["expiresDateTime"] = c.now().Add(time.Duration(n) * time.Hour).UTC().Format(time.RFC3339)
	}
	payload, _ := json.Marshal(req)
	code, body := c.call(r, http.MethodPost, "/v1.0/portcullis/ipBlocks", v.Token, bytes.NewReader(payload), "application/json")
	return code, body, nil
}

func (c *Center) addLocation(r *http.Request, v *viewer) (int, []byte, map[string]string) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' })
	}
	ranges, countries := split(r.PostFormValue("ranges")), split(strings.ToUpper(r.PostFormValue("countries")))
	problems := map[string]string{}
	if name == "" {
		problems["name"] = "Give the location a name."
	}
	if (len(ranges) == 0) == (len(countries) == 0) {
		problems["ranges"] = "Enter IP ranges or countries (one kind per location)."
	}
	if len(problems) > 0 {
		return 0, nil, problems
	}
	loc := map[string]any{"displayName": name}
	if len(ranges) > 0 {
		var rs []map[string]string
		for _, cidr := range ranges {
			kind := "#microsoft.graph.iPv4CidrRange"
			if strings.Contains(cidr, ":") {
				kind = "#microsoft.graph.iPv6CidrRange"
			}
			rs = append(rs, map[string]string{"@odata.type": kind, "cidrAddress": cidr})
		}
		loc["@odata.type"], loc["ipRanges"], loc["isTrusted"] = "#microsoft.graph.ipNamedLocation", rs, r.PostFormValue("trusted") == "on"
	} else {
		loc["@odata.type"], loc["countriesAndRegions"], loc["includeUnknownCountriesAndRegions"] = "#microsoft.graph.countryNamedLocation", countries, false
	}
	payload, _ := json.Marshal(loc)
	code, body := c.call(r, http.MethodPost, "/v1.0/identity/conditionalAccess/namedLocations", v.Token, bytes.NewReader(payload), "application/json")
	return code, body, nil
}
