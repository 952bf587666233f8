package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatmessenger/chatmessengertest"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// injected are alert texts that would be live Chatwork notation if posted
// as they are: a room-wide mention, a mention, a forged info block, and
// the end of a code block.
var injected = []string{"[toall]", "[To:999]", "[/info][info][title]pwned[/title]", "[/code]", "[TOALL]", "[to:999]"}

// injectionPayload is an Alertmanager webhook whose labels and annotations
// carry every injected text, and labels that ask for mentions.
func injectionPayload(t *testing.T) []byte {
	t.Helper()
	evil := strings.Join(injected, " ")
	labels := map[string]string{
		"alertname":   "Injected" + injected[0],
		"severity":    "critical",
		"instance":    "db-1" + injected[1],
		"service":     injected[2],
		"chatwork_to": "999,1111",
		"cam_users":   "ceo@example.com, sre@example.com, attacker@evil.example",
	}
	annotations := map[string]string{
		"summary":     "summary " + evil,
		"description": "description " + evil,
		"runbook_url": "https://runbooks.example.com/" + injected[3],
	}
	b, err := json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "relay" + injected[0],
		"groupKey": "{}:{alertname=\"Injected\"}", "externalURL": "http://am.example.com" + injected[1],
		"alerts": []map[string]any{{
			"status": "firing", "labels": labels, "annotations": annotations,
			"startsAt": "2024-05-14T09:12:37Z", "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prom.example.com/graph" + injected[2], "fingerprint": "0123456789abcdef",
		}},
		"groupLabels": map[string]string{"alertname": labels["alertname"]}, "commonLabels": labels,
		"commonAnnotations": annotations,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// liveMention finds Chatwork mention tags, which Chatwork reads in any case.
var liveMention = regexp.MustCompile(`(?i)\[(toall|to:[0-9]*)\]`)

// liveTag finds the opening or closing tags that structure a message.
var liveTag = regexp.MustCompile(`(?i)\[/?(info|title|code)\]`)

// liveTitle finds the text of live titles.
var liveTitle = regexp.MustCompile(`(?is)\[title\](.*?)\[/title\]`)

// TestAlertTextCannotInjectChatworkNotation delivers alerts whose text is
// Chatwork notation and checks that the only live mentions in the post are
// the ones the route configured, that the template's blocks are intact, and
// that Chat&Messenger mentions stay within the target's allowlist.
func TestAlertTextCannotInjectChatworkNotation(t *testing.T) {
	t.Parallel()
	const cwTok, camTok = "inj-cw-token-4d2e", "inj-cam-token-8b1f"
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwTok}})
	cam := chatmessengertest.NewServer(t, chatmessengertest.Options{Token: camTok,
		Users: []string{"lead@example.com", "sre@example.com", "ceo@example.com", "attacker@evil.example"},
		Rooms: []string{"ops-room"}})
	dir := t.TempDir()
	routes := `
routes:
  ops:
    targets:
      - sender: chatwork
        room: "42"
        mentions: {to: ["1111"], from_label: chatwork_to, allow: ["1111", "2222"]}
      - sender: chatmessenger
        panel: ops-room
        users: [lead@example.com]
        mentions: {from_label: cam_users, allow: [sre@example.com]}
`
	if err := os.WriteFile(filepath.Join(dir, "relay.yml"), []byte(routes), 0o600); err != nil {
		t.Fatal(err)
	}
	r := StartRelay(t, map[string]string{
		"RELAY_CONFIG":           filepath.Join(dir, "relay.yml"),
		"RELAY_STORE":            "sqlite://" + filepath.Join(dir, "relay.db"),
		"RELAY_CHATWORK_TOKEN":   cwTok,
		"RELAY_CHATWORK_API_URL": cw.URL(),
		"RELAY_CAM_URL":          cam.URL(),
		"RELAY_CAM_TOKEN":        camTok,
	})
	if code, ans := r.Post(t, "/v1/alertmanager/ops", "application/json", injectionPayload(t)); code != 202 {
		t.Fatalf("got %d %s, want 202", code, ans)
	}
	if !cw.WaitPosts("42", 1, 30*time.Second) {
		t.Fatal("nothing posted to Chatwork room 42")
	}
	body := cw.Posts("42")[0].Body

	if got, want := liveMention.FindAllString(body, -1), []string{"[To:1111]"}; !slices.Equal(got, want) {
		t.Errorf("live mentions %q, want only the configured %q; post:\n%s", got, want, body)
	}
	var opened []string // the template's blocks must nest and close
	for _, tag := range liveTag.FindAllString(body, -1) {
		name := strings.ToLower(strings.Trim(tag, "[/]"))
		if !strings.HasPrefix(tag, "[/") {
			opened = append(opened, name)
			continue
		}
		if len(opened) == 0 || opened[len(opened)-1] != name {
			t.Errorf("tag %s closes a block the template did not open (open: %v); post:\n%s", tag, opened, body)
			break
		}
		opened = opened[:len(opened)-1]
	}
	if len(opened) > 0 {
		t.Errorf("blocks %v are left open; post:\n%s", opened, body)
	}
	for _, title := range liveTitle.FindAllStringSubmatch(body, -1) {
		if strings.Contains(title[1], "pwned") {
			t.Errorf("the alert forged the title %q; post:\n%s", title[1], body)
		}
	}
	for _, s := range injected {
		if strings.Contains(strings.ToLower(body), strings.ToLower(s)) {
			t.Errorf("the post holds %q as it was sent, live; post:\n%s", s, body)
		}
	}
	if !strings.Contains(body, "pwned") || !strings.Contains(body, "Injected") {
		t.Errorf("the alert's text was dropped rather than neutralised; post:\n%s", body)
	}

	if !cam.WaitMessages(1, 30*time.Second) {
		t.Fatal("no Chat&Messenger message")
	}
	m := cam.Messages()[0]
	if want := []string{"lead@example.com", "sre@example.com"}; m.PanelName != "ops-room" || !slices.Equal(m.Users, want) {
		t.Errorf("Chat&Messenger message to %q mentions %v, want ops-room mentioning %v (the allowlist)", m.PanelName, m.Users, want)
	}
}
