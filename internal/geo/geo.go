// Package geo resolves client IP addresses to locations and evaluates
// Entra-style named locations against them.
//
// Two independent pieces live here:
//
//   - GeoIP lookups against a MaxMind-format database (GeoLite2-City or
//     GeoIP2-City layout) producing the city / state / countryOrRegion /
//     coordinates that Entra records in a sign-in log entry.
//   - Named locations (IP-range and country locations, optionally trusted)
//     and a Matcher that reports every named location an address falls in,
//     which Conditional Access-style policy evaluation consumes.
//
// Databases are read fully into memory rather than memory-mapped. That costs
// RAM (tens of MB for GeoLite2-City) but means a replaced database never has
// its backing memory unmapped underneath a concurrent lookup: the garbage
// collector frees it once the last in-flight lookup drops its reference. This
// is what makes Reloader's hot swap safe without reference counting.
package geo

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is the geographic information Entra attaches to a sign-in. The
// field names follow the sign-in log's "location" object.
type Location struct {
	City  string
	State string
	// CountryOrRegion is the ISO 3166-1 alpha-2 code (e.g. "GB"), which is
	// what Entra's sign-in log puts in countryOrRegion.
	CountryOrRegion string
	Latitude        float64
	Longitude       float64
	// HasCoordinates distinguishes "no coordinates" from a genuine 0,0.
	HasCoordinates bool
}

// Locator is anything that can geolocate an address; *DB and *Reloader both
// satisfy it so a Matcher can follow database reloads.
type Locator interface {
	Lookup(ip netip.Addr) (Location, bool)
}

// DB is an opened GeoIP database. It is safe for concurrent use, including
// calling Close while lookups are running.
type DB struct {
	// reader is swapped to nil by Close. Because the reader's data is plain
	// heap memory (see the package doc), a lookup that loaded the pointer
	// before Close can still finish safely.
	reader atomic.Pointer[maxminddb.Reader]
}

// cityRecord mirrors the subset of the GeoIP2-City record layout we use.
// Names are decoded into a struct with just "en" instead of a map so a
// lookup does not allocate a map per localized name.
type cityRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	// RegisteredCountry is the fallback for networks MaxMind cannot place
	// physically (e.g. some anycast/satellite ranges) but still knows the
	// registrant of; an empty country would otherwise count as "unknown".
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		// Pointers so an absent coordinate is distinguishable from 0.
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// Open reads the MaxMind database at path into memory.
func Open(path string) (*DB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo: read database: %w", err)
	}
	return OpenBytes(data)
}

// OpenBytes opens a database from its raw bytes. The slice is retained and
// must not be modified afterwards.
func OpenBytes(data []byte) (*DB, error) {
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("geo: open database: %w", err)
	}
	db := &DB{}
	db.reader.Store(r)
	return db, nil
}

// Lookup geolocates ip. It returns false when the database is nil or closed,
// the address is invalid, or the database has no record for it. IPv4-mapped
// IPv6 addresses are looked up as IPv4, since that is how the client
// actually connected and not every database aliases ::ffff:0:0/96.
func (db *DB) Lookup(ip netip.Addr) (Location, bool) {
	if db == nil || !ip.IsValid() {
		return Location{}, false
	}
	r := db.reader.Load()
	if r == nil {
		return Location{}, false
	}
	res := r.Lookup(ip.Unmap().WithZone(""))
	if !res.Found() {
		return Location{}, false
	}
	var rec cityRecord
	if err := res.Decode(&rec); err != nil {
		// A record we cannot decode is as useless as a missing one; callers
		// treat the address as having an unknown location.
		return Location{}, false
	}
	return rec.toLocation(), true
}

func (rec *cityRecord) toLocation() Location {
	loc := Location{
		City:            rec.City.Names.EN,
		CountryOrRegion: rec.Country.ISOCode,
	}
	if loc.CountryOrRegion == "" {
		loc.CountryOrRegion = rec.RegisteredCountry.ISOCode
	}
	if len(rec.Subdivisions) > 0 {
		// subdivisions[0] is the largest subdivision (state / country of
		// the UK), which is what Entra shows as "state".
		loc.State = rec.Subdivisions[0].Names.EN
		if loc.State == "" {
			loc.State = rec.Subdivisions[0].ISOCode
		}
	}
	if lat, lon := rec.Location.Latitude, rec.Location.Longitude; lat != nil && lon != nil {
		loc.Latitude, loc.Longitude, loc.HasCoordinates = *lat, *lon, true
	}
	return loc
}

// Close releases the database. Later lookups return false. It never fails
// today; the error return keeps the io.Closer shape. Close on nil is a no-op.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	// Deliberately not calling Reader.Close: it mutates the reader without
	// synchronization, which would race with in-flight lookups, and an
	// in-memory reader has nothing to release beyond what the GC reclaims.
	db.reader.Store(nil)
	return nil
}
