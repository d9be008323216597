package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/store"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The audit log: who changed what (offline, or through the API when logged in)"}
	cmd.AddCommand(newAuditListCmd())
	return cmd
}

// auditFilter is what `audit list` selects.
type auditFilter struct {
	since         time.Duration
	activity      string
	target, actor string
	top           int
}

func newAuditListCmd() *cobra.Command {
	var f auditFilter
	cmd := &cobra.Command{
		Use:   "list [--since 24h] [--activity NAME] [--target UPN|ID] [--actor UPN|ID] [--top N]",
		Short: "List audit records, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.top < 1 || f.top > 1000 {
				return fmt.Errorf("%w: --top must be from 1 to 1000", ErrUsage)
			}
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteAuditList(cmd.Context(), cmd.OutOrStdout(), c, f) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				return offlineAuditList(ctx, w, s, f)
			})
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.since, "since", 24*time.Hour, "how far back to look (0 = everything)")
	fl.StringVar(&f.activity, "activity", "", `only this activity, for example "Unlock user"`)
	fl.StringVar(&f.target, "target", "", "only changes to this user (UPN or ID) or object ID")
	fl.StringVar(&f.actor, "actor", "", "only changes made by this user (UPN or ID) or app ID")
	fl.IntVar(&f.top, "top", 100, "at most this many records (1-1000)")
	return cmd
}

func offlineAuditList(ctx context.Context, w io.Writer, s session, f auditFilter) error {
	q := store.AuditQuery{TenantID: s.tenant.ID, Activity: f.activity, Limit: f.top}
	if f.since > 0 {
		q.Since = time.Now().Add(-f.since)
	}
	var err error
	if q.TargetID, err = offlineObjectID(ctx, s, f.target); err != nil {
		return err
	}
	if q.InitiatedBy, err = offlineObjectID(ctx, s, f.actor); err != nil {
		return err
	}
	rows, err := s.db.QueryAudits(ctx, q)
	if err != nil {
		return err
	}
	raw := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		raw[i] = r.Body
	}
	return renderAudits(w, s.format, raw)
}

// offlineObjectID turns a UPN into a user ID; anything else is used as is.
func offlineObjectID(ctx context.Context, s session, ref string) (string, error) {
	if ref == "" || !strings.Contains(ref, "@") {
		return ref, nil
	}
	u, err := findUser(ctx, s, ref)
	return u.ID, err
}

func remoteAuditList(ctx context.Context, w io.Writer, c *apiClient, f auditFilter) error {
	var clauses []string
	if f.since > 0 {
		clauses = append(clauses, "activityDateTime ge "+time.Now().Add(-f.since).UTC().Format(time.RFC3339))
	}
	if f.activity != "" {
		clauses = append(clauses, "activityDisplayName eq "+odataString(f.activity))
	}
	for _, ref := range []struct{ prop, value string }{{"targetResources/id", f.target}, {"initiatedBy/user/id", f.actor}} {
		if ref.value == "" {
			continue
		}
		id := ref.value
		if strings.Contains(id, "@") {
			u, err := c.user(ctx, id)
			if err != nil {
				return err
			}
			id = u.ID
		}
		clauses = append(clauses, ref.prop+" eq "+odataString(id))
	}
	path := "/v1.0/auditLogs/directoryAudits?$top=" + strconv.Itoa(f.top)
	if len(clauses) > 0 {
		path += "&$filter=" + url.QueryEscape(strings.Join(clauses, " and "))
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := c.call(ctx, "GET", path, nil, &page); err != nil {
		return err
	}
	return renderAudits(w, c.format, page.Value)
}

func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func renderAudits(w io.Writer, format string, raw []json.RawMessage) error {
	if raw == nil {
		raw = []json.RawMessage{}
	}
	return render(w, format, map[string]any{"value": raw}, func(tw io.Writer) {
		fmt.Fprintln(tw, "TIME\tACTIVITY\tRESULT\tBY\tTARGET")
		for _, r := range raw {
			var a adminapi.DirectoryAudit
			if json.Unmarshal(r, &a) != nil {
				continue
			}
			by := ""
			switch {
			case a.InitiatedBy.User != nil:
				by = a.InitiatedBy.User.UserPrincipalName + " from " + a.InitiatedBy.User.IPAddress
			case a.InitiatedBy.App != nil:
				by = a.InitiatedBy.App.DisplayName
			}
			target := ""
			if len(a.TargetResources) > 0 {
				target = a.TargetResources[0].UserPrincipalName
				if target == "" {
					target = a.TargetResources[0].DisplayName
				}
			}
			result := a.Result
			if a.ResultReason != "" {
				result += " (" + a.ResultReason + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ActivityDateTime, a.ActivityDisplayName, result, by, target)
		}
	})
}

// auditOffline records a change made on the data directory by this CLI.
func auditOffline(ctx context.Context, s session, changes ...adminapi.OfflineChange) error {
	for i := range changes {
		changes[i].TenantID = s.tenant.ID
	}
	if err := adminapi.RecordOffline(ctx, s.db, osUserName(), changes...); err != nil {
		return fmt.Errorf("the change was made but its audit record failed: %w", err)
	}
	return nil
}

// userChange is an OfflineChange about a user.
func userChange(u store.User, activity, property, oldValue, newValue string) adminapi.OfflineChange {
	return adminapi.OfflineChange{Category: "UserManagement", Activity: activity, Operation: "Update", TargetID: u.ID,
		TargetName: u.DisplayName, TargetType: "User", TargetUPN: u.UserPrincipalName, Property: property,
		OldValue: oldValue, NewValue: newValue}
}
