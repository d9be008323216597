package admincenter

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sessions are sealed cookies (AES-256-GCM under a key kept in the
// database), so any instance can read a session another issued and nothing
// about it is stored server-side. The access token inside is what makes a
// session: it expires with the token (the session timeout), and a
// revocation that stops the token stops the session.

// session is the signed-in administrator.
type session struct {
	Token   string    `json:"t"` // the Graph access token the admin API checks on every call
	UserID  string    `json:"u"`
	UPN     string    `json:"p"`
	Name    string    `json:"n"`
	CSRF    string    `json:"c"` // echoed by every form
	Expires time.Time `json:"e"`
}

// flow is a sign-in in progress: what the callback must find again.
type flow struct {
	State    string    `json:"s"`
	Verifier string    `json:"v"`
	Return   string    `json:"r"` // the admin page to go back to
	Expires  time.Time `json:"e"`
}

type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("admin center cookie key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts v; name is bound in as additional data, so a value sealed
// for one cookie cannot be replayed as another.
func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

var errBadCookie = errors.New("cookie is not one this server sealed")

func (s *sealer) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return errBadCookie
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(name))
	if err != nil {
		return errBadCookie
	}
	return json.Unmarshal(plain, v)
}

// cookieName is name as a __Host- cookie on https (only this origin can
// set it), plain on http (development).
func (c *Center) cookieName(name string) string {
	if c.secure {
		return "__Host-" + name
	}
	return name
}

func (c *Center) setCookie(w http.ResponseWriter, name string, v any, expires time.Time) error {
	value, err := c.sealer.seal(name, v)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(name), Value: value, Path: "/", Expires: expires,
		Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (c *Center) readCookie(r *http.Request, name string, v any) error {
	ck, err := r.Cookie(c.cookieName(name))
	if err != nil {
		return err
	}
	return c.sealer.open(name, ck.Value, v)
}

func (c *Center) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(name), Value: "", Path: "/", MaxAge: -1,
		Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
