package outbox

import (
	"encoding/json"
	"fmt"

	"github.com/relayhq/relay/internal/delivery"
)

// EncodeTally is how the stores keep a message's Tally in their tally
// column: JSON, or the empty string for none.
func EncodeTally(t []delivery.Count) string {
	if len(t) == 0 {
		return ""
	}
	b, err := json.Marshal(t)
	if err != nil {
		return "" // a slice of plain structs always encodes
	}
	return string(b)
}

// DecodeTally reads what EncodeTally wrote.
func DecodeTally(s string) ([]delivery.Count, error) {
	if s == "" {
		return nil, nil
	}
	var t []delivery.Count
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("decode tally: %w", err)
	}
	return t, nil
}
