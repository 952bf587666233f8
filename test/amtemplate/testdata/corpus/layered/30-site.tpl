{{ define "acme.body" }}{{ range .Alerts.Firing }}FIRING {{ .Labels.alertname }} ({{ .Labels.Remove (stringSlice "alertname") }})
{{ end }}{{ range .Alerts.Resolved }}RESOLVED {{ .Labels.alertname }}
{{ end }}{{ end }}
{{ define "acme.footer" }}{{ end }}
