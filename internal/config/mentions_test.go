package config

import (
	"slices"
	"testing"

	"github.com/relayhq/relay/internal/alert"
)

func firing(labels alert.KV) alert.Alert {
	return alert.Alert{Status: alert.StatusFiring, Labels: labels}
}

func resolved(labels alert.KV) alert.Alert {
	return alert.Alert{Status: alert.StatusResolved, Labels: labels}
}

func data(as ...alert.Alert) *alert.Data {
	return (&alert.Data{Receiver: "relay", Source: alert.SourceAlertmanager}).WithAlerts(as)
}

// parseTarget parses a one-target route and returns the target.
func parseTarget(t *testing.T, target string) *Target {
	t.Helper()
	src := "senders:\n  cam: {type: chatmessenger, url: 'https://cam', token_env: CAM}\n" +
		"routes:\n  r:\n    targets:\n      - " + target + "\n"
	f, err := Parse("relay.yml", []byte(src), vars{"CAM": "c"}.get, files{}.read)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f.Routes["r"].Targets[0]
}

func TestSelect(t *testing.T) {
	t.Parallel()
	crit := firing(alert.KV{"alertname": "Down", "severity": "critical"})
	warn := firing(alert.KV{"alertname": "Slow", "severity": "warning"})
	info := firing(alert.KV{"alertname": "Note", "severity": "info"})
	cases := []struct {
		name   string
		target string
		in     *alert.Data
		want   []string // alertnames selected; nil = nothing
	}{
		{"no matchers keeps all", "{sender: console}", data(crit, info), []string{"Down", "Note"}},
		{"equal keeps one", `{sender: console, matchers: ['severity="critical"']}`, data(crit, warn, info), []string{"Down"}},
		{"regexp keeps two", `{sender: console, matchers: ['severity=~"critical|warning"']}`, data(crit, warn, info), []string{"Down", "Slow"}},
		{"none selected", `{sender: console, matchers: ['severity="critical"']}`, data(warn, info), nil},
		{"no alerts, common labels match", `{sender: console, matchers: ['env!="dev"']}`, &alert.Data{Status: "firing"}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := parseTarget(t, c.target).Select(c.in)
			if c.want == nil {
				if got != nil {
					t.Fatalf("got %d alerts, want nil", len(got.Alerts))
				}
				return
			}
			if got == nil {
				t.Fatalf("got nil, want %v", c.want)
			}
			names := []string{}
			for _, a := range got.Alerts {
				names = append(names, a.Labels["alertname"])
			}
			if !slices.Equal(names, c.want) {
				t.Errorf("selected %v, want %v", names, c.want)
			}
		})
	}
}

func TestSelectRecomputesCommonLabels(t *testing.T) {
	t.Parallel()
	tg := parseTarget(t, `{sender: console, matchers: ['severity="critical"']}`)
	d := data(firing(alert.KV{"alertname": "Down", "severity": "critical"}), resolved(alert.KV{"alertname": "Slow", "severity": "warning"}))
	got := tg.Select(d)
	if got.CommonLabels["severity"] != "critical" || got.Status != alert.StatusFiring {
		t.Errorf("CommonLabels = %v, Status = %s", got.CommonLabels, got.Status)
	}
	if len(d.Alerts) != 2 {
		t.Errorf("Select changed its input: %d alerts", len(d.Alerts))
	}
}

func TestMentions(t *testing.T) {
	t.Parallel()
	const cwPage = `{sender: chatwork, room: "1", mentions: {to: [1111], from_label: chatwork_to, allow: [1111, 2222], when: {status: [firing], severity: [critical]}}}`
	const camDM = `{sender: cam, panel: messenger, users: [oncall@x], mentions: {from_label: cam_users, allow: [lead@x], when: {status: [firing]}}}`
	const camRoom = `{sender: cam, panel: ops, users: [team@x], mentions: {when: {severity: [critical]}}}`
	cases := []struct {
		name       string
		target     string
		in         *alert.Data
		wantPrefix string
		wantUsers  []string
	}{
		{"fixed and allowed label ids", cwPage,
			data(firing(alert.KV{"severity": "critical", "chatwork_to": "2222, 1111"})), "[To:1111][To:2222]\n", nil},
		{"allowlist blocks an unlisted id from the label", cwPage,
			data(firing(alert.KV{"severity": "critical", "chatwork_to": "9999,2222"})), "[To:1111][To:2222]\n", nil},
		{"label cannot inject markup", cwPage,
			data(firing(alert.KV{"severity": "critical", "chatwork_to": "[toall]"})), "[To:1111]\n", nil},
		{"when: warning does not page", cwPage,
			data(firing(alert.KV{"severity": "warning", "chatwork_to": "2222"})), "", nil},
		{"when: resolved critical does not page", cwPage,
			data(resolved(alert.KV{"severity": "critical", "chatwork_to": "2222"})), "", nil},
		{"when: label ids only from alerts that page", cwPage,
			data(firing(alert.KV{"severity": "critical"}), firing(alert.KV{"severity": "warning", "chatwork_to": "2222"})),
			"[To:1111]\n", nil},
		{"toall", `{sender: chatwork, room: "1", mentions: {toall: true, to: [5]}}`,
			data(resolved(nil)), "[toall]\n", nil},
		{"no mentions", `{sender: chatwork, room: "1"}`, data(firing(nil)), "", nil},
		{"cam dm adds allowed label users", camDM,
			data(firing(alert.KV{"cam_users": "lead@x,intruder@x"})), "", []string{"oncall@x", "lead@x"}},
		{"cam dm keeps its recipients when not mentioning", camDM,
			data(resolved(alert.KV{"cam_users": "lead@x"})), "", []string{"oncall@x"}},
		{"cam room mentions its users when allowed", camRoom,
			data(firing(alert.KV{"severity": "critical"})), "", []string{"team@x"}},
		{"cam room does not mention otherwise", camRoom,
			data(firing(alert.KV{"severity": "info"})), "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			prefix, users := parseTarget(t, c.target).Mentions(c.in)
			if prefix != c.wantPrefix {
				t.Errorf("prefix = %q, want %q", prefix, c.wantPrefix)
			}
			if !slices.Equal(users, c.wantUsers) {
				t.Errorf("users = %v, want %v", users, c.wantUsers)
			}
		})
	}
}
