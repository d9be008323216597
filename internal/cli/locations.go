package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/geo"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Named location sources.
const (
	locationFromConfig = "config"
	locationFromTenant = "tenant"
)

func newLocationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "locations",
		Short: "Manage named locations (offline; a running server picks changes up within 2s)",
		Long: "Manage the tenant's named locations (Entra's shape: IP ranges or countries). Sign-ins from a\n" +
			"trusted location are never refused as coming from a malicious IP. Locations in the configuration\n" +
			"file are listed too but can only be changed there. " + pickupNote,
	}
	cmd.AddCommand(newLocationsListCmd(), newLocationsAddCmd(), newLocationsRemoveCmd())
	return cmd
}

// locationOut is a named location in Graph's shape plus where it is defined.
type locationOut struct {
	ID             string   `json:"id"`
	Name           string   `json:"displayName"`
	Source         string   `json:"source"` // config or tenant
	IPRanges       []string `json:"ipRanges,omitempty"`
	Countries      []string `json:"countriesAndRegions,omitempty"`
	IncludeUnknown bool     `json:"includeUnknownCountriesAndRegions"`
	Trusted        bool     `json:"isTrusted"`
	Created        string   `json:"createdDateTime,omitempty"`
}

func fromGeoLocation(l geo.NamedLocation, source string) locationOut {
	out := locationOut{ID: l.ID, Name: l.Name, Source: source, Countries: l.Countries,
		IncludeUnknown: l.IncludeUnknownCountries, Trusted: l.Trusted}
	for _, p := range l.CIDRs {
		out.IPRanges = append(out.IPRanges, p.String())
	}
	return out
}

func fromStoredLocation(l store.NamedLocation) locationOut {
	return locationOut{ID: l.ID, Name: l.DisplayName, Source: locationFromTenant, IPRanges: l.CIDRs,
		Countries: l.Countries, IncludeUnknown: l.IncludeUnknownCountries, Trusted: l.Trusted,
		Created: graphTime(l.CreatedAt)}
}

// allLocations is the configured locations, then the tenant's stored ones.
func allLocations(ctx context.Context, ls lockoutSession) ([]locationOut, error) {
	configured, err := app.ConfiguredLocations(ls.cfg)
	if err != nil {
		return nil, err
	}
	stored, err := ls.db.ListNamedLocations(ctx, ls.tenant.ID)
	if err != nil {
		return nil, err
	}
	out := make([]locationOut, 0, len(configured)+len(stored))
	for _, l := range configured {
		out = append(out, fromGeoLocation(l, locationFromConfig))
	}
	for _, l := range stored {
		out = append(out, fromStoredLocation(l))
	}
	return out, nil
}

func locationsTable(tw io.Writer, locs []locationOut) {
	if len(locs) == 0 {
		fmt.Fprintln(tw, "No named locations.")
		return
	}
	fmt.Fprintln(tw, "NAME\tSOURCE\tTYPE\tTRUSTED\tRANGES/COUNTRIES\tID")
	for _, l := range locs {
		kind, what := "ip", strings.Join(l.IPRanges, ",")
		if len(l.Countries) > 0 {
			kind, what = "country", strings.Join(l.Countries, ",")
			if l.IncludeUnknown {
				what += " (+unknown)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Name, l.Source, kind, yesNo(l.Trusted), what, l.ID)
	}
}

func newLocationsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List named locations: the configuration file's (source config) and the tenant's (source tenant)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteLocationsList(cmd.Context(), cmd.OutOrStdout(), c) })
			}
			return withLockout(cmd, false, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				locs, err := allLocations(ctx, ls)
				if err != nil {
					return err
				}
				return render(w, ls.format, map[string]any{"value": locs}, func(tw io.Writer) { locationsTable(tw, locs) })
			})
		},
	}
}

// newLocation is what locations add was given.
type newLocation struct {
	name                string
	cidrs, countries    []string
	trusted, anyUnknown bool
}

// toGeo converts and validates the flags, every problem at once.
func (n newLocation) toGeo() (geo.NamedLocation, error) {
	l := geo.NamedLocation{Name: strings.TrimSpace(n.name), Trusted: n.trusted, IncludeUnknownCountries: n.anyUnknown}
	for _, c := range n.cidrs {
		p, err := parsePrefixArg(strings.TrimSpace(c))
		if err != nil {
			return l, fmt.Errorf("--cidr: %w", err)
		}
		l.CIDRs = append(l.CIDRs, p)
	}
	for _, c := range n.countries {
		l.Countries = append(l.Countries, strings.ToUpper(strings.TrimSpace(c)))
	}
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("%w: invalid named location, nothing stored: %w", ErrUsage, err)
	}
	return l, nil
}

func newLocationsAddCmd() *cobra.Command {
	var n newLocation
	cmd := &cobra.Command{
		Use:   "add --name NAME (--cidr CIDR... | --country CC...) [--trusted] [--include-unknown-countries]",
		Short: "Add a named location to the tenant (a running server picks it up within 2s)",
		Long: "Add a named location to the tenant: IP ranges (--cidr, repeatable or comma-separated), which may be\n" +
			"--trusted, or countries (--country, ISO 3166-1 alpha-2), which may --include-unknown-countries.\n" +
			"Sign-ins from a trusted location are never refused as coming from a malicious IP. " + pickupNote,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := n.toGeo()
			if err != nil {
				return err
			}
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteLocationsAdd(cmd.Context(), cmd.OutOrStdout(), c, l) })
			}
			return withLockout(cmd, false, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				return runLocationsAdd(ctx, w, ls, l)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&n.name, "name", "", "display name, unique in the tenant (required)")
	f.StringSliceVar(&n.cidrs, "cidr", nil, "IP range (address or CIDR) of an IP-range location")
	f.StringSliceVar(&n.countries, "country", nil, "two-letter country code of a country location")
	f.BoolVar(&n.trusted, "trusted", false, "mark an IP-range location trusted")
	f.BoolVar(&n.anyUnknown, "include-unknown-countries", false, "a country location also matches addresses with no known country")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func runLocationsAdd(ctx context.Context, w io.Writer, ls lockoutSession, l geo.NamedLocation) error {
	existing, err := allLocations(ctx, ls)
	if err != nil {
		return err
	}
	for _, e := range existing {
		if strings.EqualFold(e.Name, l.Name) {
			where := "in the tenant (ID " + e.ID + ")"
			if e.Source == locationFromConfig {
				where = "in the configuration file"
			}
			return fmt.Errorf("a named location called %q already exists %s: %w", e.Name, where, store.ErrConflict)
		}
	}
	sl := store.NamedLocation{ID: uuid.NewString(), TenantID: ls.tenant.ID, DisplayName: l.Name, Countries: l.Countries,
		IncludeUnknownCountries: l.IncludeUnknownCountries, Trusted: l.Trusted, CreatedAt: time.Now()}
	for _, p := range l.CIDRs {
		sl.CIDRs = append(sl.CIDRs, p.String())
	}
	if err := ls.db.CreateNamedLocation(ctx, sl); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a named location called %q already exists: %w", l.Name, err)
		}
		return err
	}
	if err := auditOffline(ctx, ls.session, adminapi.OfflineChange{Category: "Policy", Activity: "Add named location",
		Operation: "Add", TargetID: sl.ID, TargetName: sl.DisplayName, TargetType: "NamedLocation",
		Property: "Definition", NewValue: strings.Join(append(sl.CIDRs, sl.Countries...), ",") + map[bool]string{true: " trusted"}[sl.Trusted]}); err != nil {
		return err
	}
	out := fromStoredLocation(sl)
	return render(w, ls.format, out, func(tw io.Writer) {
		locationsTable(tw, []locationOut{out})
		fmt.Fprintf(tw, "\nAdded named location %s. %s\n", out.Name, pickupNote)
	})
}

func newLocationsRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME|ID",
		Short: "Remove one of the tenant's named locations (a running server stops using it within 2s)",
		Long: "Remove one of the tenant's named locations, by name or ID. Locations from the configuration file\n" +
			"can only be removed by editing that file. " + pickupNote,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteLocationsRemove(cmd.Context(), cmd.OutOrStdout(), c, args[0]) })
			}
			return withLockout(cmd, false, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				return runLocationsRemove(ctx, w, ls, args[0])
			})
		},
	}
}

func runLocationsRemove(ctx context.Context, w io.Writer, ls lockoutSession, ref string) error {
	locs, err := allLocations(ctx, ls)
	if err != nil {
		return err
	}
	found := findLocation(locs, ref)
	switch {
	case found == nil:
		return fmt.Errorf("no named location %q (see portcullis locations list): %w", ref, store.ErrNotFound)
	case found.Source == locationFromConfig:
		return fmt.Errorf("named location %q is defined in the configuration file; remove it from locations: there "+
			"(and restart the server)", found.Name)
	}
	if err := ls.db.DeleteNamedLocation(ctx, ls.tenant.ID, found.ID); err != nil {
		return err
	}
	if err := auditOffline(ctx, ls.session, adminapi.OfflineChange{Category: "Policy", Activity: "Delete named location",
		Operation: "Delete", TargetID: found.ID, TargetName: found.Name, TargetType: "NamedLocation"}); err != nil {
		return err
	}
	out := *found
	return render(w, ls.format, out, func(tw io.Writer) {
		fmt.Fprintf(tw, "Removed named location %s (%s). %s\n", out.Name, out.ID, pickupNote)
	})
}

// findLocation finds ref by ID, then by exact name, then by name in any
// case; a tenant location wins over a configured one of the same name.
func findLocation(locs []locationOut, ref string) *locationOut {
	for _, match := range []func(l locationOut) bool{
		func(l locationOut) bool { return l.ID == ref },
		func(l locationOut) bool { return l.Name == ref && l.Source == locationFromTenant },
		func(l locationOut) bool { return l.Name == ref },
		func(l locationOut) bool { return strings.EqualFold(l.Name, ref) },
	} {
		for i := range locs {
			if match(locs[i]) {
				return &locs[i]
			}
		}
	}
	return nil
}
