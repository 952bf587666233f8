package templates

import "github.com/relayhq/relay/internal/alert"

// ErrEmpty is errEmpty, for the external tests.
var ErrEmpty = errEmpty

// CopyData is copyData, for the external tests.
func CopyData(d *alert.Data, f func(string) string) *alert.Data { return copyData(d, f) }
