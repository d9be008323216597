package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
)

const feedsNote = "Feeds are loaded by each process from the configuration file: these commands load them in the\n" +
	"CLI to check them. A running server loads every feed at start and re-reads each one on its own\n" +
	"refresh interval; it is not told about a load made here."

func newFeedsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feeds",
		Short: "Check the configured threat feeds (IP block lists)",
		Long:  "Check the configured threat feeds (IP block lists).\n\n" + feedsNote,
	}
	cmd.AddCommand(newFeedsListCmd(), newFeedsRefreshCmd())
	return cmd
}

// feedOut is a configured feed and the outcome of loading it.
type feedOut struct {
	Name         string              `json:"name"`
	Source       string              `json:"source"`
	Category     string              `json:"category"`
	Action       string              `json:"action"`
	Refresh      string              `json:"refresh"` // "0s" = loaded once at start
	Status       string              `json:"status"`  // ok or failed
	Prefixes     int                 `json:"prefixes"`
	Malformed    int                 `json:"malformed"`
	LastAttempt  string              `json:"lastAttempt,omitempty"`
	LastSuccess  string              `json:"lastSuccess,omitempty"`
	LastError    string              `json:"lastError,omitempty"`
	SampleErrors []ipintel.LineError `json:"sampleErrors,omitempty"`
}

func toFeedOut(st ipintel.FeedStatus, cfg config.Feed) feedOut {
	out := feedOut{Name: st.Name, Source: st.Source, Category: st.Category, Action: st.Action,
		Refresh: cfg.Refresh.String(), Status: "ok", Prefixes: st.Prefixes, Malformed: st.Malformed,
		LastAttempt: graphTime(st.LastAttempt), LastSuccess: graphTime(st.LastSuccess), LastError: st.LastError,
		SampleErrors: st.SampleErrors}
	if st.LastError != "" {
		out.Status = "failed"
	}
	return out
}

func newFeedsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the configured feeds and load each once to show its prefixes and problems",
		Long:  "List the configured feeds; each is loaded once to show its prefixes, malformed lines and last error.\n\n" + feedsNote,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := runFeeds(cmd, "")
			return err
		},
	}
}

func newFeedsRefreshCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "refresh [NAME]",
		Short: "Load (read or download) one feed or all feeds now and show the outcome",
		Long: "Load one feed, or every feed, now and show the outcome. Fails if the named feed is not\n" +
			"configured or every requested feed failed to load.\n\n" + feedsNote,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			feeds, err := runFeeds(cmd, name)
			if err != nil {
				return err
			}
			for _, f := range feeds {
				if f.Status == "ok" {
					return nil
				}
			}
			if len(feeds) == 0 {
				return nil
			}
			return errors.New("every requested feed failed to load (see the last error above)")
		},
	}
}

// runFeeds loads the feed name ("" = all), prints the statuses and returns
// those printed.
func runFeeds(cmd *cobra.Command, name string) ([]feedOut, error) {
	if c, ok, err := remoteFor(cmd); err != nil {
		return nil, err
	} else if ok {
		// The running server's feeds as it loaded them; refresh only when asked.
		return remoteFeeds(cmd.Context(), cmd.OutOrStdout(), c, name, cmd.Name() == "refresh")
	}
	format, err := outputFormat(cmd)
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	ctx := cmd.Context()
	if name != "" && !feedConfigured(cfg, name) {
		return nil, fmt.Errorf("feed %q is not configured (configured: %s)", name, feedNames(cfg))
	}
	src, err := app.OpenIPSources(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	_ = src.Feeds.Refresh(ctx, name) // failures are in Status
	out := []feedOut{}
	for i, st := range src.Feeds.Status() {
		if name == "" || st.Name == name {
			out = append(out, toFeedOut(st, cfg.Feeds[i]))
		}
	}
	return out, render(cmd.OutOrStdout(), format, map[string]any{"value": out}, func(tw io.Writer) { feedsTable(tw, out) })
}

func feedConfigured(cfg config.Config, name string) bool {
	for _, f := range cfg.Feeds {
		if f.Name == name {
			return true
		}
	}
	return false
}

func feedNames(cfg config.Config) string {
	if len(cfg.Feeds) == 0 {
		return "none"
	}
	names := make([]string, len(cfg.Feeds))
	for i, f := range cfg.Feeds {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func feedsTable(tw io.Writer, feeds []feedOut) {
	if len(feeds) == 0 {
		fmt.Fprintln(tw, "No feeds are configured (feeds: in the configuration file).")
		return
	}
	fmt.Fprintln(tw, "NAME\tSOURCE\tCATEGORY\tACTION\tREFRESH\tSTATUS\tPREFIXES\tMALFORMED\tLAST SUCCESS")
	for _, f := range feeds {
		refresh := f.Refresh
		if refresh == "0s" {
			refresh = "once"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", f.Name, f.Source, f.Category, f.Action, refresh,
			f.Status, f.Prefixes, f.Malformed, dash(f.LastSuccess))
	}
	for _, f := range feeds {
		if f.LastError != "" {
			fmt.Fprintf(tw, "\n%s: last error: %s\n", f.Name, f.LastError)
		}
		if len(f.SampleErrors) > 0 {
			fmt.Fprintf(tw, "\n%s: malformed lines (first %d of %d):\n", f.Name, len(f.SampleErrors), f.Malformed)
			for _, e := range f.SampleErrors {
				fmt.Fprintf(tw, "  line %d: %q: %s\n", e.Line, e.Text, e.Err)
			}
		}
	}
}
