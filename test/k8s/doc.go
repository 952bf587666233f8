// Package k8s checks relay's Kubernetes packaging: the Helm chart in
// charts/relay, rendered by helm for every ci/*-values.yaml, the kustomize
// manifests in deploy/kubernetes, and the examples that point Alertmanager
// (AlertmanagerConfig) and Grafana (contact-point provisioning) at relay.
// Every object is decoded strictly into its Kubernetes API type, so an
// unknown or misspelt field fails. It is a module of its own so that the
// Kubernetes API types stay out of relay's module graph.
package k8s
