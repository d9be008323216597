package oidc

import (
	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
)

// checkSource applies the IP verdict before any account is looked up or any
// hash computed: a blocked source gets 50053 whatever it sends. (The guard
// checks again inside CheckPassword, so no credential path can skip it.)
func (p *Provider) checkSource(req *tokenRequest) *tokenError {
	v := p.guard.CheckIP(req.app.TenantID, httpx.ClientIP(req.r.Context()))
	req.ip = &v
	rec := req.record
	if v.LocationFound {
		l := v.Location
		rec.Location = signinlog.Location{City: l.City, State: l.State, CountryOrRegion: l.CountryOrRegion}
		if l.HasCoordinates {
			rec.Location.GeoCoordinates = &signinlog.GeoCoordinates{Latitude: l.Latitude, Longitude: l.Longitude}
		}
	}
	if len(v.Matches) > 0 {
		rec.Protection = &signinlog.Protection{IPMatches: ipMatches(v)}
	}
	// No request here carries a device cookie (that is browser sign-in), so
	// an automatic block applies in full; the guard holds the exception.
	if !guard.PassesIPBlock(v, nil, nil) {
		return blockedByIP(rec)
	}
	return nil
}

func blockedByIP(rec *signinlog.Record) *tokenError {
	if rec.Protection == nil {
		rec.Protection = &signinlog.Protection{}
	}
	rec.Protection.Decision, rec.Protection.IPBlocked = "ipBlocked", true
	rec.Status.FailureReason = aadsts.FailureReasonMaliciousIP
	return errCode(aadsts.IdsLocked)
}

func ipMatches(v guard.IPVerdict) []signinlog.IPMatch {
	out := make([]signinlog.IPMatch, len(v.Matches))
	for i, m := range v.Matches {
		out[i] = signinlog.IPMatch{Kind: m.Kind, Name: m.Name, Category: m.Category, Action: m.Action,
			Prefix: m.Prefix, Origin: m.Origin, Rule: m.Rule, Reason: m.Reason, Trusted: m.Trusted}
	}
	return out
}
