package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// buildInfo returns the version, the VCS revision and the Go version.
func buildInfo() (ver, revision, goVersion string) {
	revision = "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
		if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version, revision, runtime.Version()
		}
	}
	return version, revision, runtime.Version()
}

func versionString() string {
	v, r, g := buildInfo()
	return fmt.Sprintf("relay %s (revision %s, %s %s/%s)", v, r, g, runtime.GOOS, runtime.GOARCH)
}
