package password

import "crypto/rand"

// Generate returns 20 characters from an unambiguous alphabet (about 113
// bits): far beyond any guessing, and accepted by the policy. It is used for
// first-run administrators, break-glass recovery and temporary passwords.
func Generate() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	buf := make([]byte, 1)
	for i := 0; i < len(b); {
		_, _ = rand.Read(buf)
		if int(buf[0]) >= 256-256%len(alphabet) {
			continue // reject to keep the distribution uniform
		}
		b[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(b)
}
