package geo

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

var testRecords = []TestRecord{
	{Prefix: netip.MustParsePrefix("81.2.69.0/24"), Country: "GB", State: "England", City: "London", Lat: 51.5142, Lon: -0.0931},
	{Prefix: netip.MustParsePrefix("2001:db8::/32"), Country: "DE"},
	{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Country: "US", State: "California", City: "San Francisco", Lat: 37.7749, Lon: -122.4194},
}

// openTestDB writes records to a temp database and opens it.
func openTestDB(t *testing.T, records []TestRecord) *DB {
	t.Helper()
	path := writeTestDB(t, records)
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func writeTestDB(t *testing.T, records []TestRecord) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.mmdb")
	if err := WriteTestDB(path, records); err != nil {
		t.Fatalf("WriteTestDB: %v", err)
	}
	return path
}

func TestLookup(t *testing.T) {
	db := openTestDB(t, testRecords)
	london := Location{City: "London", State: "England", CountryOrRegion: "GB", Latitude: 51.5142, Longitude: -0.0931, HasCoordinates: true}
	tests := []struct {
		name  string
		ip    string
		want  Location
		found bool
	}{
		{"ipv4", "81.2.69.160", london, true},
		{"ipv4-mapped ipv6", "::ffff:81.2.69.160", london, true},
		{"ipv6 country only", "2001:db8::1", Location{CountryOrRegion: "DE"}, true},
		{"ipv6 with zone", "2001:db8::1%eth0", Location{CountryOrRegion: "DE"}, true},
		{"second ipv4", "203.0.113.7", Location{City: "San Francisco", State: "California", CountryOrRegion: "US", Latitude: 37.7749, Longitude: -122.4194, HasCoordinates: true}, true},
		{"ipv4 missing", "192.0.2.1", Location{}, false},
		{"ipv6 missing", "2001:db9::1", Location{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := db.Lookup(netip.MustParseAddr(tc.ip))
			if ok != tc.found || got != tc.want {
				t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", tc.ip, got, ok, tc.want, tc.found)
			}
		})
	}
}

func TestLookupNilClosedInvalid(t *testing.T) {
	var nilDB *DB
	if _, ok := nilDB.Lookup(netip.MustParseAddr("81.2.69.1")); ok {
		t.Error("nil DB lookup succeeded")
	}
	if err := nilDB.Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}
	db := openTestDB(t, testRecords)
	if _, ok := db.Lookup(netip.Addr{}); ok {
		t.Error("zero Addr lookup succeeded")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, ok := db.Lookup(netip.MustParseAddr("81.2.69.1")); ok {
		t.Error("closed DB lookup succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("Open(missing) succeeded")
	}
	garbage := filepath.Join(t.TempDir(), "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(garbage); err == nil {
		t.Error("Open(garbage) succeeded")
	}
}

// TestLookupFallbacks covers real-database shapes WriteTestDB cannot
// produce: a subdivision with only an ISO code and a record with only
// registered_country.
func TestLookupFallbacks(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	insert := func(cidr string, v mmdbtype.Map) {
		_, n, _ := net.ParseCIDR(cidr)
		if err := tree.Insert(n, v); err != nil {
			t.Fatal(err)
		}
	}
	insert("198.51.100.0/25", mmdbtype.Map{
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String("FR")},
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("IDF")}},
	})
	insert("198.51.100.128/25", mmdbtype.Map{
		"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("NL")},
	})
	path := filepath.Join(t.TempDir(), "fallback.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Lookup(netip.MustParseAddr("198.51.100.1")); got != (Location{State: "IDF", CountryOrRegion: "FR"}) {
		t.Errorf("subdivision iso fallback: got %+v", got)
	}
	if got, _ := db.Lookup(netip.MustParseAddr("198.51.100.200")); got.CountryOrRegion != "NL" {
		t.Errorf("registered_country fallback: got %+v", got)
	}
}

func TestReloaderConcurrent(t *testing.T) {
	first := writeTestDB(t, testRecords)
	second := writeTestDB(t, []TestRecord{
		{Prefix: netip.MustParsePrefix("81.2.69.0/24"), Country: "FR", City: "Paris"},
	})
	r := &Reloader{}
	if _, ok := r.Lookup(netip.MustParseAddr("81.2.69.1")); ok {
		t.Fatal("empty Reloader lookup succeeded")
	}
	if err := r.Reload(first); err != nil {
		t.Fatalf("Reload(first): %v", err)
	}

	ip := netip.MustParseAddr("81.2.69.1")
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Value
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				loc, ok := r.Lookup(ip)
				// Either database is fine, but a lookup racing the swap
				// must neither miss nor see a mix of the two.
				switch {
				case !ok:
					bad.Store(Location{City: "<miss>"})
				case loc.CountryOrRegion == "GB" && loc.City == "London":
				case loc.CountryOrRegion == "FR" && loc.City == "Paris":
				default:
					bad.Store(loc)
				}
			}
		})
	}
	for i := range 20 {
		path := first
		if i%2 == 0 {
			path = second
		}
		if err := r.Reload(path); err != nil {
			t.Errorf("Reload: %v", err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatalf("inconsistent lookup result %+v", v)
	}

	// 20 reloads ending on an odd index leave the first database installed.
	if loc, _ := r.Lookup(ip); loc.CountryOrRegion != "GB" {
		t.Errorf("after reloads got %+v, want GB", loc)
	}
	if err := r.Reload(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("Reload(missing) succeeded")
	}
	if loc, _ := r.Lookup(ip); loc.CountryOrRegion != "GB" {
		t.Errorf("failed reload replaced database: got %+v", loc)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup(ip); ok {
		t.Error("closed Reloader lookup succeeded")
	}
}
