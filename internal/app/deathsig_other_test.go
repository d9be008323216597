//go:build !linux

package app_test

import "os/exec"

func dieWithParent(*exec.Cmd) {} // only Linux offers a parent-death signal
