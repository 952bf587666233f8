package templates_test

import (
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/templates"
)

func BenchmarkRenderChatwork(b *testing.B) {
	tm, err := templates.New(builtins())
	if err != nil {
		b.Fatal(err)
	}
	d := sample(alert.KindAlertmanager)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Render(chatworkKind.Notation(), "", d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderPartsStorm(b *testing.B) {
	tm, err := templates.New(builtins())
	if err != nil {
		b.Fatal(err)
	}
	d := storm(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.RenderParts(chatworkKind.Notation(), "", d, 65535); err != nil {
			b.Fatal(err)
		}
	}
}
