package config

import "github.com/relayhq/relay/internal/confyaml"

// Error is a mistake in the routes file, located by file, line and the
// path of the offending key: relay.yml:14: routes.ops.targets[1]: unknown
// sender "cw".
type Error = confyaml.Error
