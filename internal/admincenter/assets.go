package admincenter

// HTMXVersion is the vendored copy of htmx (assets/htmx.min.js, from the
// npm package htmx.org, Zero-Clause BSD: assets/htmx.LICENSE.txt), and
// HTMXSHA256 the digest of that file as the package ships it. A test holds
// the embedded file to the digest, so the copy cannot drift unnoticed; to
// update, replace the file from `npm pack htmx.org@VERSION` and both
// constants.
const (
	HTMXVersion = "2.0.11"
	HTMXSHA256  = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
)
