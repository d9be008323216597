package geo

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// TestRecord is one network in a database built by WriteTestDB. Empty strings
// are left out of the record; Lat and Lon are left out when both are zero, so
// tests can produce records without coordinates.
type TestRecord struct {
	Prefix  netip.Prefix
	Country string
	State   string
	City    string
	Lat     float64
	Lon     float64
}

// WriteTestDB writes a small GeoIP2-City-layout database to path. It lives in
// a non-test file so other packages' tests can build databases without
// network access or a checked-in binary fixture.
func WriteTestDB(path string, records []TestRecord) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "GeoIP2-City",
		Languages:    []string{"en"},
		RecordSize:   28,
		// Tests want documentation ranges (203.0.113.0/24, 2001:db8::/32),
		// which the writer otherwise refuses as reserved.
		IncludeReservedNetworks: true,
	})
	if err != nil {
		return fmt.Errorf("geo: new test db: %w", err)
	}
	for _, rec := range records {
		if !rec.Prefix.IsValid() {
			return fmt.Errorf("geo: test record has invalid prefix %v", rec.Prefix)
		}
		p := rec.Prefix.Masked()
		network := &net.IPNet{
			IP:   net.IP(p.Addr().AsSlice()),
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}
		if err := tree.Insert(network, rec.value()); err != nil {
			return fmt.Errorf("geo: insert %v: %w", p, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return fmt.Errorf("geo: serialise test db: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("geo: write test db: %w", err)
	}
	return nil
}

func (rec TestRecord) value() mmdbtype.Map {
	names := func(s string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(s)}}
	}
	m := mmdbtype.Map{}
	if rec.Country != "" {
		m["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(rec.Country)}
	}
	if rec.State != "" {
		sub := names(rec.State)
		m["subdivisions"] = mmdbtype.Slice{sub}
	}
	if rec.City != "" {
		m["city"] = names(rec.City)
	}
	if rec.Lat != 0 || rec.Lon != 0 {
		m["location"] = mmdbtype.Map{
			"latitude":  mmdbtype.Float64(rec.Lat),
			"longitude": mmdbtype.Float64(rec.Lon),
		}
	}
	return m
}
