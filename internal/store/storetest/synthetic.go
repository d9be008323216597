package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// LoadDay appends n sign-in records of tenantID spread evenly over the 24
// hours before now, for benchmarks: 10,000 user names, addresses at random
// (one in a thousand in 203.0.113.0/24), the usual mix of codes (wrong
// password most, locks, unknown names, an interruption), each with a Graph
// body the admin center can draw. The same n and now give the same log.
func LoadDay(ctx context.Context, s store.SignInLogs, tenantID string, n int, now time.Time) error {
	rng := rand.New(rand.NewPCG(3, 4))
	codes := []int{50126, 50126, 50126, 50053, 0, 0, 50034, 50076}
	const batch = 5000
	for i := 0; i < n; i += batch {
		rows := make([]store.SignInRow, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			at := now.Add(-24*time.Hour + time.Duration(float64(24*time.Hour)*float64(j)/float64(n)))
			ip := fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))
			if rng.IntN(1000) == 0 {
				ip = fmt.Sprintf("203.0.113.%d", rng.IntN(256))
			}
			user, code := rng.IntN(10000), codes[rng.IntN(len(codes))]
			id, upn := fmt.Sprintf("%016x-%08d", at.UnixMicro(), j), fmt.Sprintf("user%d@contoso.test", user)
			body, err := json.Marshal(map[string]any{"id": id, "createdDateTime": at.UTC().Format(time.RFC3339Nano),
				"userPrincipalName": upn, "userId": fmt.Sprint("u", user), "appDisplayName": "Bench", "ipAddress": ip,
				"status": map[string]any{"errorCode": code}})
			if err != nil {
				return err
			}
			rows = append(rows, store.SignInRow{ID: id, CreatedAt: at, TenantID: tenantID, UserID: fmt.Sprint("u", user),
				UPN: upn, AppID: "app", IPAddress: ip, ErrorCode: code, CorrelationID: fmt.Sprint("c", j), Body: body})
		}
		if err := s.AppendSignIns(ctx, rows); err != nil {
			return fmt.Errorf("load a day of sign-ins: %w", err)
		}
	}
	return nil
}
