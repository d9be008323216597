package signinlog

import "slices"

// InterruptedCodes are the error codes Entra's sign-in log shows as
// "Interrupted" rather than "Failure": the sign-in needs another step
// (a password change, a second factor, a prompt) rather than failing.
// The admin center's status filter and the sign-in summary's failure
// counts both follow it.
var InterruptedCodes = []int{50055, 50072, 50074, 50076, 50079, 50125, 50140, 500121}

// Interrupted reports whether code is one of InterruptedCodes.
func Interrupted(code int) bool { return slices.Contains(InterruptedCodes, code) }
