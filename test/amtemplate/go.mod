module github.com/relayhq/relay/test/amtemplate

go 1.26.8

require github.com/prometheus/alertmanager v0.35.0

require (
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.1 // indirect
	go.yaml.in/yaml/v2 v2.4.4 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
