package oidc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// keyRefresh bounds how stale the in-memory key set may be: a rotation done
// by the CLI on the same database is picked up within this time.
const keyRefresh = 30 * time.Second

// KeySet signs tokens with the active key and publishes every key whose
// tokens may still be in use.
type KeySet struct {
	store store.Keys
	now   func() time.Time

	mu        sync.Mutex
	loadedAt  time.Time
	signer    jose.Signer
	published jose.JSONWebKeySet
}

// NewKeySet returns a key set reading from s.
func NewKeySet(s store.Keys, now func() time.Time) *KeySet {
	return &KeySet{store: s, now: now}
}

// GenerateKey creates an RSA-2048 signing key whose kid is its RFC 7638
// thumbprint.
func GenerateKey(now time.Time) (store.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("key thumbprint: %w", err)
	}
	return store.SigningKey{ID: base64.RawURLEncoding.EncodeToString(thumb), Algorithm: "RS256",
		PrivateKey: der, CreatedAt: now.UTC()}, nil
}

// RotateKeys makes a fresh key active. The old key stays published for
// overlap, which must cover the longest token lifetime plus the time running
// servers take to notice (keyRefresh).
func RotateKeys(ctx context.Context, s store.Keys, now time.Time, overlap time.Duration) (store.SigningKey, error) {
	k, err := GenerateKey(now)
	if err != nil {
		return k, err
	}
	if err := s.RotateKeys(ctx, k, now.Add(overlap+keyRefresh)); err != nil {
		return k, fmt.Errorf("rotate keys: %w", err)
	}
	return k, nil
}

func (k *KeySet) load(ctx context.Context) error {
	if !k.loadedAt.IsZero() && k.now().Sub(k.loadedAt) < keyRefresh {
		return nil
	}
	keys, err := k.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	var signer jose.Signer
	var set jose.JSONWebKeySet
	now := k.now()
	for _, sk := range keys { // newest first
		if !sk.RetiredAt.IsZero() && now.After(sk.PublishUntil) {
			continue
		}
		parsed, err := x509.ParsePKCS8PrivateKey(sk.PrivateKey)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", sk.ID, err)
		}
		priv, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("signing key %s is not RSA", sk.ID)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &priv.PublicKey, KeyID: sk.ID, Algorithm: sk.Algorithm, Use: "sig"})
		if signer == nil && sk.RetiredAt.IsZero() {
			opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", sk.ID)
			if signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: priv}, opts); err != nil {
				return fmt.Errorf("signer for key %s: %w", sk.ID, err)
			}
		}
	}
	if signer == nil {
		return errors.New("no active signing key: run `portcullis keys rotate`")
	}
	k.signer, k.published, k.loadedAt = signer, set, now
	return nil
}

// Signer returns the signer of the active key.
func (k *KeySet) Signer(ctx context.Context) (jose.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(ctx); err != nil {
		return nil, err
	}
	return k.signer, nil
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
