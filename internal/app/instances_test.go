package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
	"github.com/portcullis-idp/portcullis/internal/testsvc"
)

// instance is a `portcullis serve` process.
type instance struct{ base, tenant string }

func (in instance) post(t *testing.T, path string, form url.Values, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", in.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func (in instance) signIn(t *testing.T, user, pw, from string) (int, string) {
	t.Helper()
	return in.post(t, "/"+in.tenant+"/oauth2/v2.0/token", passwordForm(user, pw), "X-Forwarded-For", from)
}

// deployment is where three instances keep their storage: the processes'
// data directories, the settings that name the storage, and a way for the
// test to open it too.
type deployment struct {
	dirs []string
	env  []string
	open func(t *testing.T) *sqlstore.DB
}

// TestThreeProcessesShareLockout runs three `portcullis serve` processes
// on one SQLite data directory and one Redis (state.type redis): one host
// only, as during a rolling restart where old and new processes overlap
// (several instances proper need PostgreSQL: config validate says so).
// See threeInstances.
func TestThreeProcessesShareLockout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three real processes")
	}
	dir := t.TempDir()
	threeInstances(t, deployment{dirs: []string{dir, dir, dir}, open: func(t *testing.T) *sqlstore.DB {
		db, err := app.OpenStore(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}})
}

// TestThreeInstancesOnPostgres is the same with storage on PostgreSQL and
// a data directory of each instance's own, as instances on three machines
// would have: nothing is shared but the database and Redis.
func TestThreeInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three real processes")
	}
	dsn := testsvc.Postgres(t)
	threeInstances(t, deployment{
		dirs: []string{t.TempDir(), t.TempDir(), t.TempDir()},
		env:  []string{"PORTCULLIS_STORAGE__TYPE=postgres", "PORTCULLIS_STORAGE__DSN=" + dsn, "PORTCULLIS_INSTANCES=3"},
		open: func(t *testing.T) *sqlstore.DB {
			db, err := sqlstore.OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	})
}

// threeInstances starts three instances together on empty storage (exactly
// one must initialise it). Then 600 concurrent wrong passwords for one
// account spread over the three are verified at most threshold times; the
// lock is enforced by all three at once; an administrator's unlock through
// one clears it on all; the sign-in log has every attempt exactly once; a
// spray spread over the instances is detected (the windows are shared in
// Redis), blocked once, and refused by every instance within its 2-second
// poll of the block list.
func threeInstances(t *testing.T, d deployment) {
	redis := redisURL(t)
	ctx := context.Background()
	env := append([]string{"PORTCULLIS_STATE__TYPE=redis", "PORTCULLIS_STATE__URL=" + redis, "PORTCULLIS_TRUSTED_PROXIES=127.0.0.1",
		"PORTCULLIS_LOCKOUT__THRESHOLD=3", "PORTCULLIS_DETECTION__REPORT_ONLY=false", "PORTCULLIS_DETECTION__SPRAY_ACCOUNTS=3",
		"PORTCULLIS_PASSWORDS__HASH_QUEUE=600"}, d.env...)
	var waits []func() string
	for _, dir := range d.dirs {
		_, wait := launchProcess(t, dir, env...)
		waits = append(waits, wait)
	}
	db := d.open(t)
	defer db.Close()
	var insts []instance
	for _, wait := range waits {
		insts = append(insts, instance{base: wait()})
	}
	tenants, err := db.ListTenants(ctx)
	if err != nil || len(tenants) != 1 {
		t.Fatalf("three instances starting together made %d tenants (%v), want 1", len(tenants), err)
	}
	tenant := tenants[0]
	for i := range insts {
		insts[i].tenant = tenant.ID
	}
	users := app.DirectoryService(db, fastConfig(t))
	admin, err := users.FindUser(ctx, tenant, "admin@"+tenant.Domains[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.SetPassword(ctx, admin, adminPassword, false); err != nil {
		t.Fatal(err)
	}
	bobUPN := "bob@" + tenant.Domains[0]
	bob, err := users.AddUser(ctx, tenant, directory.NewUser{UserPrincipalName: bobUPN,
		DisplayName: "Bob", Password: alicePassword, AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for i := range 600 {
		wg.Go(func() {
			insts[i%3].signIn(t, bobUPN, fmt.Sprint("guess-", i), fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256+1))
		})
	}
	wg.Wait()
	for i, in := range insts {
		if code, body := in.signIn(t, bobUPN, alicePassword, "198.51.100.9"); code != http.StatusBadRequest ||
			!strings.Contains(body, "AADSTS50053") {
			t.Fatalf("instance %d during the lock: %d %s", i, code, body)
		}
	}
	records := bobRecords(t, db, tenant.ID, bob.ID)
	verified, ids := 0, map[string]bool{}
	for _, r := range records {
		ids[r.ID] = true
		if r.Protection != nil && r.Protection.PasswordCorrect != nil {
			verified++
		}
	}
	if len(records) != 603 || len(ids) != 603 || verified == 0 || verified > 3 {
		t.Fatalf("%d records (%d distinct; want 603: 600 attempts and 3 checks), %d verified (want 1 to 3)", len(records), len(ids), verified)
	}

	_, tokBody := insts[0].post(t, "/"+tenant.ID+"/oauth2/v2.0/token", passwordForm(admin.UserPrincipalName, adminPassword))
	var token struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(tokBody), &token); err != nil || token.AccessToken == "" {
		t.Fatalf("admin sign-in: %s", tokBody)
	}
	req, _ := http.NewRequest("POST", insts[0].base+"/v1.0/portcullis/users/"+bob.ID+"/lockout/unlock", nil)
	req.Header.Set("Authorization", "Bearer "+token.AccessToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unlock through the first instance: %v %v", resp, err)
	}
	if code, body := insts[2].signIn(t, bobUPN, alicePassword, "198.51.100.9"); code != http.StatusOK {
		t.Fatalf("the third instance after the unlock on the first: %d %s", code, body)
	}

	// A spray from one address spread over the instances: four accounts,
	// at most two on any instance, against a threshold of three. Only the
	// detection windows shared in Redis see it whole; the block it records
	// then reaches every instance within its 2-second poll.
	for i, name := range []string{"x1", "x2", "x3", "x4"} {
		insts[i%3].signIn(t, name+"@"+tenant.Domains[0], "Winter2026!", "192.0.2.66")
	}
	for i, in := range insts {
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, body := in.signIn(t, bobUPN, alicePassword, "192.0.2.66")
			if code == http.StatusBadRequest && strings.Contains(body, "AADSTS50053") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still lets the spraying address in: %d %s", i, code, body)
			}
			time.Sleep(100 * time.Millisecond) // polling for the block list's 2 s refresh, bounded by the deadline
		}
	}
	blocks, err := db.ListIPBlocks(ctx, true, time.Now())
	if err != nil || len(blocks) != 1 {
		t.Fatalf("blocks after the spray: %+v %v, want exactly one", blocks, err)
	}
}

func bobRecords(t *testing.T, db *sqlstore.DB, tenantID, userID string) []signinlog.Record {
	t.Helper()
	where, err := odata.Parse("userId eq '"+userID+"'", store.SignInSchema)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.FindSignIns(context.Background(), store.SignInFilter{TenantID: tenantID, Limit: 1000, Where: where})
	if err != nil {
		t.Fatal(err)
	}
	var out []signinlog.Record
	for _, row := range rows {
		r, err := signinlog.FromRow(row)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
