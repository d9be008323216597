package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/geo"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// apiUser is the part of Graph's user the CLI shows.
type apiUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	AccountEnabled    bool   `json:"accountEnabled"`
}

func (c *apiClient) user(ctx context.Context, ref string) (apiUser, error) {
	var u apiUser
	err := c.call(ctx, "GET", "/v1.0/users/"+url.PathEscape(ref), nil, &u)
	return u, err
}

func remoteUsersList(ctx context.Context, w io.Writer, c *apiClient) error {
	var all []apiUser
	next := "/v1.0/users?$top=999"
	for next != "" {
		var page struct {
			Value    []apiUser `json:"value"`
			NextLink string    `json:"@odata.nextLink"`
		}
		if err := c.call(ctx, "GET", next, nil, &page); err != nil {
			return err
		}
		all = append(all, page.Value...)
		next = ""
		if page.NextLink != "" {
			u, err := url.Parse(page.NextLink)
			if err != nil {
				return fmt.Errorf("server sent a bad nextLink: %w", err)
			}
			next = u.RequestURI()
		}
	}
	return render(w, c.format, map[string]any{"value": all}, func(tw io.Writer) {
		fmt.Fprintln(tw, "USER PRINCIPAL NAME\tDISPLAY NAME\tENABLED\tID")
		for _, u := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.UserPrincipalName, u.DisplayName, yesNo(u.AccountEnabled), u.ID)
		}
	})
}

func remoteLockoutStatus(ctx context.Context, w io.Writer, c *apiClient, ref string) error {
	u, err := c.user(ctx, ref)
	if err != nil {
		return err
	}
	var st guard.Status
	if err := c.call(ctx, "GET", "/v1.0/portcullis/users/"+u.ID+"/lockout", nil, &st); err != nil {
		return err
	}
	if st.Budgets == nil {
		st.Budgets = []guard.BudgetStatus{}
	}
	if st.Lockouts == nil {
		st.Lockouts = []store.Lockout{}
	}
	out := lockoutStatusOut{ID: u.ID, UserPrincipalName: u.UserPrincipalName, Status: st}
	return render(w, c.format, out, func(tw io.Writer) { lockoutStatusTable(tw, out) })
}

func remoteUnlock(ctx context.Context, w io.Writer, c *apiClient, ref, reason string) error {
	u, err := c.user(ctx, ref)
	if err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/v1.0/portcullis/users/"+u.ID+"/lockout/unlock", map[string]string{"reason": reason}, nil); err != nil {
		return err
	}
	out := map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "unlocked": true, "by": c.UPN, "reason": reason}
	return render(w, c.format, out, func(tw io.Writer) {
		fmt.Fprintf(tw, "Unlocked %s (through %s as %s): all lockout budgets reset.\n", u.UserPrincipalName, c.Server, c.UPN)
	})
}

type apiAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
}

func (c *apiClient) assignments(ctx context.Context, principalID string) ([]apiAssignment, error) {
	path := "/v1.0/roleManagement/directory/roleAssignments"
	if principalID != "" {
		path += "?$filter=" + url.QueryEscape("principalId eq '"+principalID+"'")
	}
	var page struct {
		Value []apiAssignment `json:"value"`
	}
	err := c.call(ctx, "GET", path, nil, &page)
	return page.Value, err
}

func remoteRolesList(ctx context.Context, w io.Writer, c *apiClient) error {
	all, err := c.assignments(ctx, "")
	if err != nil {
		return err
	}
	out := []roleAssignmentOut{}
	for _, a := range all {
		role, _ := rbac.RoleByID(a.RoleDefinitionID)
		o := roleAssignmentOut{ID: a.ID, Role: role.Name, RoleDefinitionID: a.RoleDefinitionID, PrincipalID: a.PrincipalID}
		if u, err := c.user(ctx, a.PrincipalID); err == nil {
			o.UserPrincipalName = u.UserPrincipalName
		}
		out = append(out, o)
	}
	return render(w, c.format, out, func(tw io.Writer) { roleAssignmentTable(tw, out) })
}

func roleAssignmentTable(tw io.Writer, out []roleAssignmentOut) {
	fmt.Fprintln(tw, "ROLE\tPRINCIPAL\tASSIGNMENT ID")
	for _, o := range out {
		who := o.UserPrincipalName
		if who == "" {
			who = o.PrincipalID + " (app)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Role, who, o.ID)
	}
}

func remoteRoleChange(ctx context.Context, w io.Writer, c *apiClient, ref string, role rbac.Role, add bool) error {
	u, err := c.user(ctx, ref)
	if err != nil {
		return err
	}
	if add {
		err = c.call(ctx, "POST", "/v1.0/roleManagement/directory/roleAssignments",
			map[string]string{"principalId": u.ID, "roleDefinitionId": role.ID, "directoryScopeId": "/"}, nil)
	} else {
		err = removeRemoteAssignment(ctx, c, u, role)
	}
	if err != nil {
		return err
	}
	verb := map[bool]string{true: "now holds", false: "no longer holds"}[add]
	return render(w, c.format, map[string]any{"userPrincipalName": u.UserPrincipalName, "role": role.Name, "assigned": add},
		func(tw io.Writer) { fmt.Fprintf(tw, "%s %s %s.\n", u.UserPrincipalName, verb, role.Name) })
}

func removeRemoteAssignment(ctx context.Context, c *apiClient, u apiUser, role rbac.Role) error {
	mine, err := c.assignments(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, a := range mine {
		if a.RoleDefinitionID == role.ID {
			return c.call(ctx, "DELETE", "/v1.0/roleManagement/directory/roleAssignments/"+url.PathEscape(a.ID), nil, nil)
		}
	}
	return fmt.Errorf("%s does not hold %s", u.UserPrincipalName, role.Name)
}

func remoteIPsCheck(ctx context.Context, w io.Writer, c *apiClient, ip string) error {
	var v struct {
		ipCheckOut
		Records []store.IPBlock `json:"blockRecords"`
	}
	if err := c.call(ctx, "GET", "/v1.0/portcullis/ips/"+url.PathEscape(ip), nil, &v); err != nil {
		return err
	}
	out := v.ipCheckOut
	for _, b := range v.Records {
		out.BlockRecords = append(out.BlockRecords, toBlockOut(b, time.Now()))
	}
	if out.Matches == nil {
		out.Matches = []guard.IPMatch{}
	}
	return render(w, c.format, out, func(tw io.Writer) { ipCheckTable(tw, out) })
}

func remoteIPsList(ctx context.Context, w io.Writer, c *apiClient, all bool) error {
	path := "/v1.0/portcullis/ipBlocks"
	if !all {
		path += "?$filter=" + url.QueryEscape("active eq true")
	}
	var page struct {
		Value []store.IPBlock `json:"value"`
	}
	if err := c.call(ctx, "GET", path, nil, &page); err != nil {
		return err
	}
	now := time.Now()
	out := make([]blockOut, 0, len(page.Value))
	for _, b := range page.Value {
		if o := toBlockOut(b, now); all || o.Status == "active" {
			out = append(out, o)
		}
	}
	return render(w, c.format, map[string]any{"value": out}, func(tw io.Writer) {
		if len(out) == 0 {
			fmt.Fprintln(tw, "No block records.")
			return
		}
		blocksTable(tw, out)
	})
}

func remoteIPsBlock(ctx context.Context, w io.Writer, c *apiClient, prefix, reason string, until time.Time) error {
	body := map[string]string{"prefix": prefix, "reason": reason}
	if !until.IsZero() {
		body["expiresDateTime"] = until.UTC().Format(time.RFC3339)
	}
	var b store.IPBlock
	if err := c.call(ctx, "POST", "/v1.0/portcullis/ipBlocks", body, &b); err != nil {
		return err
	}
	return render(w, c.format, toBlockOut(b, time.Now()), func(tw io.Writer) {
		blocksTable(tw, []blockOut{toBlockOut(b, time.Now())})
		fmt.Fprintf(tw, "\nBlocked %s on %s; it applies at once.\n", b.Prefix, c.Server)
	})
}

func remoteIPsUnblock(ctx context.Context, w io.Writer, c *apiClient, id, reason string) error {
	if err := c.call(ctx, "DELETE", "/v1.0/portcullis/ipBlocks/"+url.PathEscape(id)+"?reason="+url.QueryEscape(reason), nil, nil); err != nil {
		return err
	}
	return render(w, c.format, map[string]any{"id": id, "revoked": true, "reason": reason}, func(tw io.Writer) {
		fmt.Fprintf(tw, "Revoked block %s on %s; it applies at once.\n", id, c.Server)
	})
}

// apiPolicy is the API's lockout policy shape.
type apiPolicy struct {
	LockoutThreshold             int  `json:"lockoutThreshold"`
	LockoutDurationInSeconds     int  `json:"lockoutDurationInSeconds"`
	MaxLockoutDurationInSeconds  int  `json:"maxLockoutDurationInSeconds"`
	ObservationWindowInSeconds   int  `json:"observationWindowInSeconds"`
	FamiliarNetworkDays          int  `json:"familiarNetworkDays"`
	DeviceCookieLockoutThreshold int  `json:"deviceCookieLockoutThreshold"`
	IsTenantOverride             bool `json:"isTenantOverride"`
}

func (p apiPolicy) store() (store.LockoutPolicy, string) {
	source := policyFromConfig
	if p.IsTenantOverride {
		source = policyFromTenant
	}
	return store.LockoutPolicy{Threshold: p.LockoutThreshold, Duration: time.Duration(p.LockoutDurationInSeconds) * time.Second,
		MaxDuration: time.Duration(p.MaxLockoutDurationInSeconds) * time.Second, ObservationWindow: time.Duration(p.ObservationWindowInSeconds) * time.Second,
		FamiliarNetworkDays: p.FamiliarNetworkDays, DeviceCookieThreshold: p.DeviceCookieLockoutThreshold}, source
}

func remotePolicyShow(ctx context.Context, w io.Writer, c *apiClient) error {
	var p apiPolicy
	if err := c.call(ctx, "GET", "/v1.0/portcullis/lockoutPolicy", nil, &p); err != nil {
		return err
	}
	sp, source := p.store()
	return renderPolicy(w, c.format, sp, source)
}

// remotePolicySet sends only the fields whose flags were given.
func remotePolicySet(ctx context.Context, w io.Writer, c *apiClient, cmd *cobra.Command, want store.LockoutPolicy) error {
	f := cmd.Flags()
	body := map[string]int{}
	for flag, field := range map[string]struct {
		name string
		v    int
	}{
		"threshold": {"lockoutThreshold", want.Threshold}, "duration": {"lockoutDurationInSeconds", int(want.Duration / time.Second)},
		"max-duration":            {"maxLockoutDurationInSeconds", int(want.MaxDuration / time.Second)},
		"observation-window":      {"observationWindowInSeconds", int(want.ObservationWindow / time.Second)},
		"familiar-network-days":   {"familiarNetworkDays", want.FamiliarNetworkDays},
		"device-cookie-threshold": {"deviceCookieLockoutThreshold", want.DeviceCookieThreshold},
	} {
		if f.Changed(flag) {
			body[field.name] = field.v
		}
	}
	var p apiPolicy
	if err := c.call(ctx, "PATCH", "/v1.0/portcullis/lockoutPolicy", body, &p); err != nil {
		return err
	}
	sp, source := p.store()
	return renderPolicy(w, c.format, sp, source)
}

func remoteSetEnabled(ctx context.Context, w io.Writer, c *apiClient, ref string, enabled bool) error {
	u, err := c.user(ctx, ref)
	if err != nil {
		return err
	}
	if err := c.call(ctx, "PATCH", "/v1.0/users/"+u.ID, map[string]bool{"accountEnabled": enabled}, nil); err != nil {
		return err
	}
	u.AccountEnabled = enabled
	return render(w, c.format, u, func(tw io.Writer) {
		fmt.Fprintf(tw, "%s is now %s.\n", u.UserPrincipalName, map[bool]string{true: "enabled", false: "disabled"}[enabled])
	})
}

// remoteFeeds shows the server's feeds as it loaded them, refreshing first
// when asked (name "" = all).
func remoteFeeds(ctx context.Context, w io.Writer, c *apiClient, name string, refresh bool) ([]feedOut, error) {
	var page struct {
		Value []struct {
			Name, Source, Category, Action           string
			Prefixes                                 int
			MalformedLines                           int `json:"malformedLines"`
			LastAttemptDateTime, LastSuccessDateTime *string
			LastError                                string              `json:"lastError"`
			SampleErrors                             []ipintel.LineError `json:"sampleErrors"`
		} `json:"value"`
	}
	method, path := "GET", "/v1.0/portcullis/feeds"
	if refresh {
		method, path = "POST", "/v1.0/portcullis/feeds/refresh?name="+url.QueryEscape(name)
	}
	if err := c.call(ctx, method, path, nil, &page); err != nil {
		return nil, err
	}
	out := []feedOut{}
	for _, f := range page.Value {
		if name != "" && f.Name != name {
			continue
		}
		o := feedOut{Name: f.Name, Source: f.Source, Category: f.Category, Action: f.Action, Status: "ok",
			Prefixes: f.Prefixes, Malformed: f.MalformedLines, LastError: f.LastError, SampleErrors: f.SampleErrors}
		if f.LastAttemptDateTime != nil {
			o.LastAttempt = *f.LastAttemptDateTime
		}
		if f.LastSuccessDateTime != nil {
			o.LastSuccess = *f.LastSuccessDateTime
		}
		if f.LastError != "" {
			o.Status = "failed"
		}
		out = append(out, o)
	}
	return out, render(w, c.format, map[string]any{"value": out}, func(tw io.Writer) { feedsTable(tw, out) })
}

// apiLocation is Graph's named location as the API returns it.
type apiLocation struct {
	ODataType string `json:"@odata.type"`
	ID        string `json:"id"`
	Name      string `json:"displayName"`
	Created   string `json:"createdDateTime"`
	Trusted   *bool  `json:"isTrusted"`
	IPRanges  []struct {
		CIDRAddress string `json:"cidrAddress"`
	} `json:"ipRanges"`
	Countries      []string `json:"countriesAndRegions"`
	IncludeUnknown *bool    `json:"includeUnknownCountriesAndRegions"`
}

func (l apiLocation) out() locationOut {
	o := locationOut{ID: l.ID, Name: l.Name, Source: locationFromTenant, Countries: l.Countries, Created: l.Created,
		Trusted: l.Trusted != nil && *l.Trusted, IncludeUnknown: l.IncludeUnknown != nil && *l.IncludeUnknown}
	for _, r := range l.IPRanges {
		o.IPRanges = append(o.IPRanges, r.CIDRAddress)
	}
	return o
}

const locationsPath = "/v1.0/identity/conditionalAccess/namedLocations"

func (c *apiClient) locations(ctx context.Context) ([]locationOut, error) {
	var page struct {
		Value []apiLocation `json:"value"`
	}
	if err := c.call(ctx, "GET", locationsPath, nil, &page); err != nil {
		return nil, err
	}
	out := []locationOut{}
	for _, l := range page.Value {
		out = append(out, l.out())
	}
	return out, nil
}

func remoteLocationsList(ctx context.Context, w io.Writer, c *apiClient) error {
	locs, err := c.locations(ctx)
	if err != nil {
		return err
	}
	return render(w, c.format, map[string]any{"value": locs}, func(tw io.Writer) { locationsTable(tw, locs) })
}

func remoteLocationsAdd(ctx context.Context, w io.Writer, c *apiClient, l geo.NamedLocation) error {
	body := map[string]any{"displayName": l.Name}
	if len(l.CIDRs) > 0 {
		ranges := []map[string]string{}
		for _, p := range l.CIDRs {
			kind := "#microsoft.graph.iPv4CidrRange"
			if p.Addr().Is6() {
				kind = "#microsoft.graph.iPv6CidrRange"
			}
			ranges = append(ranges, map[string]string{"@odata.type": kind, "cidrAddress": p.String()})
		}
		body["@odata.type"], body["ipRanges"], body["isTrusted"] = "#microsoft.graph.ipNamedLocation", ranges, l.Trusted
	} else {
		body["@odata.type"], body["countriesAndRegions"] = "#microsoft.graph.countryNamedLocation", l.Countries
		body["includeUnknownCountriesAndRegions"] = l.IncludeUnknownCountries
	}
	var created apiLocation
	if err := c.call(ctx, "POST", locationsPath, body, &created); err != nil {
		return err
	}
	out := created.out()
	return render(w, c.format, out, func(tw io.Writer) {
		locationsTable(tw, []locationOut{out})
		fmt.Fprintf(tw, "\nAdded named location %s on %s; it applies at once.\n", out.Name, c.Server)
	})
}

func remoteLocationsRemove(ctx context.Context, w io.Writer, c *apiClient, ref string) error {
	locs, err := c.locations(ctx)
	if err != nil {
		return err
	}
	found := findLocation(locs, ref)
	if found == nil {
		return fmt.Errorf("no named location %q on %s: %w", ref, c.Server, store.ErrNotFound)
	}
	if err := c.call(ctx, "DELETE", locationsPath+"/"+url.PathEscape(found.ID), nil, nil); err != nil {
		return err
	}
	return render(w, c.format, *found, func(tw io.Writer) {
		fmt.Fprintf(tw, "Removed named location %s (%s) on %s; it applies at once.\n", found.Name, found.ID, c.Server)
	})
}

// remoteUsersAdd creates a user through POST /v1.0/users.
func remoteUsersAdd(ctx context.Context, w io.Writer, c *apiClient, nu directory.NewUser, generated string) error {
	body := map[string]any{"accountEnabled": nu.AccountEnabled, "displayName": nu.DisplayName,
		"userPrincipalName": nu.UserPrincipalName, "mailNickname": strings.Split(nu.UserPrincipalName, "@")[0],
		"passwordProfile": map[string]any{"password": nu.Password, "forceChangePasswordNextSignIn": nu.ForceChangePasswordNextSignIn}}
	if nu.Mail != "" {
		body["mail"] = nu.Mail
	}
	var u apiUser
	if err := c.call(ctx, "POST", "/v1.0/users", body, &u); err != nil {
		return err
	}
	type out struct {
		apiUser
		Password string `json:"password,omitempty"`
	}
	return render(w, c.format, out{u, generated}, func(tw io.Writer) {
		fmt.Fprintf(tw, "Added %s (%s) on %s.\n", u.UserPrincipalName, u.ID, c.Server)
		if generated != "" {
			fmt.Fprintf(tw, "Password: %s (shown only this once)\n", generated)
		}
	})
}

// remoteResetPassword is set-password through the API: the server generates
// the temporary password (administrators do not choose one there), which
// must be changed at the next sign-in.
func remoteResetPassword(ctx context.Context, w io.Writer, c *apiClient, ref string) error {
	u, err := c.user(ctx, ref)
	if err != nil {
		return err
	}
	var res struct {
		NewPassword string `json:"newPassword"`
	}
	if err := c.call(ctx, "POST", "/v1.0/users/"+u.ID+"/authentication/methods/"+rbac.PasswordMethodID+"/resetPassword", nil, &res); err != nil {
		return err
	}
	out := map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "forceChangePasswordNextSignIn": true,
		"password": res.NewPassword}
	return render(w, c.format, out, func(tw io.Writer) {
		fmt.Fprintf(tw, "Password of %s reset on %s; it must be changed at the next sign-in.\n", u.UserPrincipalName, c.Server)
		fmt.Fprintf(tw, "Temporary password: %s (shown only this once)\n", res.NewPassword)
	})
}
