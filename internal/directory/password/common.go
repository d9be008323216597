package password

import (
	"strings"
	"sync"

	"github.com/trustelem/zxcvbn/frequency"
)

// maxCommonInput caps what IsCommon will look at. The list's longest entry
// is 20 ASCII bytes, and lower-casing can shrink a string at most threefold
// (e.g. U+212A KELVIN SIGN is 3 bytes and lower-cases to "k"), so nothing
// longer than 60 bytes can match; 256 leaves margin while guaranteeing we
// never lower-case an attacker-sized string.
const maxCommonInput = 256

// commonPasswords is the zxcvbn "passwords" frequency list (about 30,000
// entries, all lower-case ASCII) as a set. It is built lazily because most
// processes (e.g. CLI tools) never check a password.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, w := range list {
		set[w] = struct{}{}
	}
	return set
})

// IsCommon reports whether the lower-cased plain is on zxcvbn's list of
// common passwords. Only list membership is tested: zxcvbn's full scoring
// is far too slow to run on every sign-up and password change.
func IsCommon(plain string) bool {
	if plain == "" || len(plain) > maxCommonInput {
		return false
	}
	_, ok := commonPasswords()[strings.ToLower(plain)]
	return ok
}

// banListReplacer holds the character substitutions Microsoft Entra
// Password Protection documents for its normalisation step.
var banListReplacer = strings.NewReplacer("0", "o", "1", "l", "$", "s", "@", "a")

// NormaliseForBanList lower-cases s and then applies exactly the four
// substitutions Entra Password Protection documents: 0->o, 1->l, $->s and
// @->a. Other look-alikes (3->e, 4->a, 5->s, ...) are deliberately not
// mapped, to match Entra's behaviour and keep rejections predictable for
// administrators comparing the two systems.
func NormaliseForBanList(s string) string {
	return banListReplacer.Replace(strings.ToLower(s))
}
