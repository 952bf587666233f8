package alert

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// DedupKey returns the key by which the outbox recognises a notification it
// has already taken for route: a hex SHA-256 over the route, receiver, group
// key, status and each alert's fingerprint, status, start and end. The
// identical notifications that Alertmanager HA peers both send share a key;
// a resolve, or a notification with other alerts, does not.
//
// A repeat notification (Alertmanager's repeat_interval) with unchanged
// alerts has the same key, so the outbox must keep keys for less time than
// any repeat interval. Payloads without a group identity (generic, legacy
// Grafana) have no key: DedupKey returns "".
func (d *Data) DedupKey(route string) string {
	switch {
	case d.Source != SourceAlertmanager && d.Source != SourceGrafana, d.Kind == KindGrafanaLegacy:
		return ""
	}
	h := sha256.New()
	for _, s := range []string{route, d.Source, d.Receiver, d.GroupKey, d.Status, strconv.Itoa(d.TruncatedAlerts)} {
		writeField(h, s)
	}
	as := slices.Clone(d.Alerts)
	slices.SortFunc(as, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(a.Fingerprint, b.Fingerprint), cmp.Compare(a.Status, b.Status),
			a.StartsAt.Compare(b.StartsAt), a.EndsAt.Compare(b.EndsAt))
	})
	for _, a := range as {
		writeField(h, a.Fingerprint)
		writeField(h, a.Status)
		writeField(h, a.StartsAt.UTC().Format(time.RFC3339Nano))
		writeField(h, a.EndsAt.UTC().Format(time.RFC3339Nano))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeField writes s length-prefixed, so that no two field lists hash the
// same input.
func writeField(h hash.Hash, s string) {
	_, _ = fmt.Fprintf(h, "%d:", len(s))
	_, _ = io.WriteString(h, s)
}

// separator is the byte Prometheus puts after each label name and value
// when it hashes a label set (model.SeparatorByte).
const separator = 0xff

// fingerprint is Alertmanager's alert fingerprint: FNV-64a over the label
// names and values sorted by name (alertname too, unlike SortedPairs), as
// 16 hex digits.
func (kv KV) fingerprint() string {
	h := fnv.New64a()
	for _, n := range slices.Sorted(maps.Keys(kv)) {
		_, _ = io.WriteString(h, n)
		_, _ = h.Write([]byte{separator})
		_, _ = io.WriteString(h, kv[n])
		_, _ = h.Write([]byte{separator})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
