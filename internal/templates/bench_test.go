package templates

import (
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

func BenchmarkRenderChatwork(b *testing.B) {
	tm, err := New("")
	if err != nil {
		b.Fatal(err)
	}
	d := sample(alert.KindAlertmanager)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Render(delivery.KindChatwork, "", d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderPartsStorm(b *testing.B) {
	tm, err := New("")
	if err != nil {
		b.Fatal(err)
	}
	d := storm(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.RenderParts(delivery.KindChatwork, "", d, 65535); err != nil {
			b.Fatal(err)
		}
	}
}
