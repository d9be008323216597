package geo

import (
	"fmt"
	"net/netip"
	"sync/atomic"
)

// Reloader holds the current database and lets it be replaced (e.g. after a
// weekly GeoLite2 download or on SIGHUP) without stopping lookups. The zero
// value is ready to use and behaves as "no database".
type Reloader struct {
	db atomic.Pointer[DB]
}

// NewReloader returns a Reloader serving db, which may be nil.
func NewReloader(db *DB) *Reloader {
	r := &Reloader{}
	r.db.Store(db)
	return r
}

// Reload opens path and swaps it in. On error the current database is kept,
// so a bad download never leaves the server without geolocation.
func (r *Reloader) Reload(path string) error {
	db, err := Open(path)
	if err != nil {
		return fmt.Errorf("geo: reload %s: %w", path, err)
	}
	r.Swap(db)
	return nil
}

// Swap installs db (which may be nil). The previous database is not
// closed: a lookup that loaded it just before the swap would then miss and
// report "unknown country" — which can flip policy decisions — for no reason
// but timing. Its memory is ordinary heap (see the package doc), so the GC
// reclaims it once in-flight lookups finish.
func (r *Reloader) Swap(db *DB) {
	r.db.Store(db)
}

// Current returns the database currently served, possibly nil.
func (r *Reloader) Current() *DB {
	return r.db.Load()
}

// Lookup geolocates ip with the current database.
func (r *Reloader) Lookup(ip netip.Addr) (Location, bool) {
	if r == nil {
		return Location{}, false
	}
	return r.db.Load().Lookup(ip)
}

// Close closes the current database and leaves the Reloader empty.
func (r *Reloader) Close() error {
	return r.db.Swap(nil).Close()
}
