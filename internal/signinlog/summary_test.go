package signinlog

import (
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestSummaryIntervals: the ISO 8601 intervals a summary takes read and
// write back the same, and nothing else is taken.
func TestSummaryIntervals(t *testing.T) {
	for s, d := range map[string]time.Duration{"PT1H": time.Hour, "PT15M": 15 * time.Minute, "PT6H": 6 * time.Hour, "P1D": 24 * time.Hour} {
		if got, ok := ParseInterval(s); !ok || got != d || FormatInterval(d) != s {
			t.Errorf("%s: parsed %v %v, formatted %q", s, got, ok, FormatInterval(d))
		}
	}
	for _, bad := range []string{"", "PT", "PT0H", "PT25H", "PT1441M", "P1W", "PT1S", "1h", "PT-1H"} {
		if _, ok := ParseInterval(bad); ok {
			t.Errorf("%q was taken", bad)
		}
	}
	if FormatInterval(90*time.Second) != "" || FormatInterval(48*time.Hour) != "" {
		t.Error("an interval a summary cannot take was written")
	}
}

// TestSummaryQuery: bounds widen to whole intervals; the span's limits are
// kept; failures leave out the interrupted codes.
func TestSummaryQuery(t *testing.T) {
	since := time.Date(2026, 11, 24, 10, 17, 3, 0, time.UTC)
	q, err := SummaryQuery("t", since, since.Add(90*time.Minute), time.Hour, 5)
	if err != nil || !q.Since.Equal(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)) ||
		!q.Until.Equal(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)) || len(q.Interrupted) == 0 {
		t.Fatalf("%+v %v", q, err)
	}
	for _, c := range []struct {
		since, until time.Time
		width        time.Duration
		top          int
	}{
		{since, since.Add(-time.Hour), time.Hour, 5},
		{since, since.Add(32 * 24 * time.Hour), time.Hour, 5},
		{since, since.Add(30 * 24 * time.Hour), time.Minute, 5},
		{since, since.Add(time.Hour), time.Hour, 101},
		{since, since.Add(time.Hour), 0, 5},
		{since, since.Add(-10 * time.Minute), time.Hour, 5}, // backwards, though within one interval
		{since, since, time.Hour, 5},
	} {
		if _, err := SummaryQuery("t", c.since, c.until, c.width, c.top); err == nil {
			t.Errorf("%+v was taken", c)
		}
	}
	// 31 days asked at any time of day are taken, though widened past 31.
	if q, err := SummaryQuery("t", since, since.Add(MaxSummarySpan), 24*time.Hour, 5); err != nil || q.Until.Sub(q.Since) != 32*24*time.Hour {
		t.Fatalf("31 days from 10:17: %+v %v", q, err)
	}
	sum := NewSummary(q, store.SignInSummary{Codes: map[int]int64{0: 9, 50126: 3, 50053: 3, 50076: 7}}, since)
	var order []int
	for _, c := range sum.ErrorCodes {
		order = append(order, c.ErrorCode)
	}
	if len(order) != 4 || order[0] != 50076 || order[1] != 50053 || order[2] != 50126 || order[3] != 0 || sum.ErrorCodes[2].ErrorName == "" {
		t.Fatalf("codes in the order %v (%+v)", order, sum.ErrorCodes)
	}
}
