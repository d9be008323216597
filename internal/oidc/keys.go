package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// keyRefresh bounds how stale the in-memory key set may be: a rotation done
// by the CLI on the same database is picked up within this time.
const keyRefresh = 30 * time.Second

// Signing algorithms. Every token another party may verify (ID tokens,
// access tokens for registered APIs) is RS256, as in Entra and as every OIDC
// client expects. Access tokens whose audience is Portcullis's own Graph
// API are verified only by Portcullis, so they are ES256: one P-256
// signature costs about 54 µs against 1.15 ms for RSA-2048, which is 5% of a
// password sign-in's CPU.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// Algorithms lists the algorithms a key set keeps an active key for.
var Algorithms = []string{AlgRS256, AlgES256}

// KeySet signs tokens with the active key of each algorithm and publishes
// every key whose tokens may still be in use.
type KeySet struct {
	store store.Keys
	now   func() time.Time

	mu        sync.Mutex
	loadedAt  time.Time
	signers   map[string]jose.Signer // by algorithm
	published jose.JSONWebKeySet
}

// NewKeySet returns a key set reading from s.
func NewKeySet(s store.Keys, now func() time.Time) *KeySet {
	return &KeySet{store: s, now: now}
}

// GenerateKey creates a signing key for alg (RSA-2048 for RS256, P-256 for
// ES256) whose kid is its RFC 7638 thumbprint.
func GenerateKey(now time.Time, alg string) (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return store.SigningKey{}, fmt.Errorf("generate key: unsupported algorithm %q", alg)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: priv.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("key thumbprint: %w", err)
	}
	return store.SigningKey{ID: base64.RawURLEncoding.EncodeToString(thumb), Algorithm: alg,
		PrivateKey: der, CreatedAt: now.UTC()}, nil
}

// EnsureKeys creates an active key for every algorithm in Algorithms that
// has none (a new directory, or one created before ES256 keys existed) and
// returns the keys it created.
func EnsureKeys(ctx context.Context, s store.Keys, now time.Time) ([]store.SigningKey, error) {
	keys, err := s.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	var created []store.SigningKey
	for _, alg := range Algorithms {
		if slices.ContainsFunc(keys, func(k store.SigningKey) bool { return k.Algorithm == alg && k.RetiredAt.IsZero() }) {
			continue
		}
		k, err := GenerateKey(now, alg)
		if err != nil {
			return created, err
		}
		if err := s.CreateKey(ctx, k); err != nil {
			return created, fmt.Errorf("store %s signing key: %w", alg, err)
		}
		created = append(created, k)
	}
	return created, nil
}

// RotateKeys makes a fresh key active for every algorithm. The old keys stay
// published for overlap, which must cover the longest token lifetime plus
// the time running servers take to notice (keyRefresh).
func RotateKeys(ctx context.Context, s store.Keys, now time.Time, overlap time.Duration) ([]store.SigningKey, error) {
	var rotated []store.SigningKey
	for _, alg := range Algorithms {
		k, err := GenerateKey(now, alg)
		if err != nil {
			return rotated, err
		}
		if err := s.RotateKeys(ctx, k, now.Add(overlap+keyRefresh)); err != nil {
			return rotated, fmt.Errorf("rotate %s keys: %w", alg, err)
		}
		rotated = append(rotated, k)
	}
	return rotated, nil
}

// Reload makes the next use read the keys from the store again (after a
// rotation made by this process).
func (k *KeySet) Reload() {
	k.mu.Lock()
	k.loadedAt = time.Time{}
	k.mu.Unlock()
}

func (k *KeySet) load(ctx context.Context) error {
	if !k.loadedAt.IsZero() && k.now().Sub(k.loadedAt) < keyRefresh {
		return nil
	}
	keys, err := k.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	signers := map[string]jose.Signer{}
	var set jose.JSONWebKeySet
	now := k.now()
	for _, sk := range keys { // active first, then newest first
		if !sk.RetiredAt.IsZero() && now.After(sk.PublishUntil) {
			continue
		}
		priv, err := parsePrivateKey(sk)
		if err != nil {
			return err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: priv.Public(), KeyID: sk.ID, Algorithm: sk.Algorithm, Use: "sig"})
		if signers[sk.Algorithm] == nil && sk.RetiredAt.IsZero() {
			opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", sk.ID)
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sk.Algorithm), Key: priv}, opts)
			if err != nil {
				return fmt.Errorf("signer for key %s: %w", sk.ID, err)
			}
			signers[sk.Algorithm] = signer
		}
	}
	if signers[AlgRS256] == nil {
		return errors.New("no active RS256 signing key: run `portcullis keys rotate`")
	}
	k.signers, k.published, k.loadedAt = signers, set, now
	return nil
}

// parsePrivateKey decodes a stored key and checks it matches its algorithm.
func parsePrivateKey(sk store.SigningKey) (crypto.Signer, error) {
	parsed, err := x509.ParsePKCS8PrivateKey(sk.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	switch priv := parsed.(type) {
	case *rsa.PrivateKey:
		if sk.Algorithm == AlgRS256 {
			return priv, nil
		}
	case *ecdsa.PrivateKey:
		if sk.Algorithm == AlgES256 && priv.Curve == elliptic.P256() {
			return priv, nil
		}
	}
	return nil, fmt.Errorf("signing key %s: a %T cannot sign %s", sk.ID, parsed, sk.Algorithm)
}

// Signer returns the signer of the active RS256 key, for every token another
// party may verify.
func (k *KeySet) Signer(ctx context.Context) (jose.Signer, error) {
	return k.signer(ctx, AlgRS256)
}

// SelfSigner returns the signer for tokens only Portcullis verifies (access
// tokens for its own Graph API): the active ES256 key, or the RS256 key
// when there is no ES256 key yet.
func (k *KeySet) SelfSigner(ctx context.Context) (jose.Signer, error) {
	return k.signer(ctx, AlgES256)
}

func (k *KeySet) signer(ctx context.Context, alg string) (jose.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(ctx); err != nil {
		return nil, err
	}
	if s := k.signers[alg]; s != nil {
		return s, nil
	}
	return k.signers[AlgRS256], nil
}

// JWKS returns the published public keys.
func (k *KeySet) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(ctx); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return k.published, nil
}
