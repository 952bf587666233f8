package k8s

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"sigs.k8s.io/yaml"
)

// relayRoutes is what the examples need to know of a routes file: each
// route's inbound auth. relay check-config is the strict check of the file.
type relayRoutes struct {
	Routes map[string]struct {
		Auth struct {
			BearerTokenEnv string `json:"bearer_token_env"`
			GrafanaHMAC    *struct {
				SecretEnv       string `json:"secret_env"`
				TimestampHeader string `json:"timestamp_header"`
			} `json:"grafana_hmac"`
		} `json:"auth"`
	} `json:"routes"`
}

// deployRelay returns the objects of deploy/kubernetes, its workload and its
// routes file, which the examples point at.
func deployRelay(t *testing.T) ([]object, workload, relayRoutes) {
	t.Helper()
	objs := kustomize(t, filepath.Join(repoRoot, "deploy/kubernetes"))
	w := onlyWorkload(t, objs)
	cm, key, err := configMapFile(objs, w, envValue(w.relay(t), "RELAY_CONFIG"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var routes relayRoutes
	if err := yaml.Unmarshal([]byte(cm.Data[key]), &routes); err != nil {
		t.Fatalf("the routes file of ConfigMap %s: %v", cm.Name, err)
	}
	return objs, w, routes
}

// routeOf returns the route of a relay webhook URL: /v1/<source>/<route>
// on relay's Service, port 8080.
func routeOf(t *testing.T, raw, source string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	route, ok := strings.CutPrefix(u.Path, "/v1/"+source+"/")
	if host := strings.Split(u.Hostname(), ".")[0]; !ok || host != "relay" || u.Port() != "8080" || u.Scheme != "http" || strings.Contains(route, "/") {
		t.Errorf("URL %s, want http://relay[.namespace.svc]:8080/v1/%s/<route>", raw, source)
	}
	return route
}

// secretKeyOf returns the key of the Secret that gives the workload the
// environment variable name.
func secretKeyOf(t *testing.T, w workload, name string) string {
	t.Helper()
	e := envVar(w.relay(t), name)
	if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Fatalf("%s is not read from a Secret", name)
	}
	return e.ValueFrom.SecretKeyRef.Key
}

func TestExampleAlertmanagerConfig(t *testing.T) {
	t.Parallel()
	_, w, routes := deployRelay(t)
	file := filepath.Join(repoRoot, "deploy/alertmanager/alertmanagerconfig.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	amc := only[*monitoringv1alpha1.AlertmanagerConfig](t, decodeObjects(t, file, b))
	if amc.Spec.Route == nil || amc.Spec.Route.Receiver == "" {
		t.Fatal("the AlertmanagerConfig has no route to a receiver")
	}
	var hooks int
	for _, r := range amc.Spec.Receivers {
		if r.Name != amc.Spec.Route.Receiver {
			t.Errorf("receiver %s is not the route's %s", r.Name, amc.Spec.Route.Receiver)
		}
		for _, wc := range r.WebhookConfigs {
			hooks++
			if wc.URL == nil {
				t.Fatal("a webhookConfig without url")
			}
			route := routeOf(t, *wc.URL, "alertmanager")
			env := routes.Routes[route].Auth.BearerTokenEnv
			if env == "" {
				t.Errorf("%s: route %q of relay.yml has no bearer_token_env", *wc.URL, route)
				continue
			}
			if wc.SendResolved == nil || !*wc.SendResolved {
				t.Errorf("%s: want sendResolved", *wc.URL)
			}
			hc := wc.HTTPConfig
			if hc == nil || hc.Authorization == nil || hc.Authorization.Credentials == nil || !strings.EqualFold(hc.Authorization.Type, "bearer") {
				t.Fatalf("%s: want a bearer authorization from a Secret", *wc.URL)
			}
			if err := hc.Validate(); err != nil {
				t.Errorf("%s: httpConfig: %v", *wc.URL, err)
			}
			if got, want := hc.Authorization.Credentials.Key, secretKeyOf(t, w, env); got != want {
				t.Errorf("credentials key %s, want %s, the key of relay's Secret that holds %s", got, want, env)
			}
		}
	}
	if hooks == 0 {
		t.Error("the AlertmanagerConfig has no webhookConfigs")
	}
}

func TestExampleAlertmanagerYAML(t *testing.T) {
	t.Parallel()
	_, _, routes := deployRelay(t)
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy/alertmanager/alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// Alertmanager's own configuration; the Alertmanager e2e tests run the
	// real binary, this reads only the receivers.
	var am struct {
		Receivers []struct {
			WebhookConfigs []struct {
				URL          string `json:"url"`
				SendResolved bool   `json:"send_resolved"`
				HTTPConfig   struct {
					Authorization struct {
						CredentialsFile string `json:"credentials_file"`
					} `json:"authorization"`
				} `json:"http_config"`
			} `json:"webhook_configs"`
		} `json:"receivers"`
	}
	if err := yaml.Unmarshal(b, &am); err != nil {
		t.Fatal(err)
	}
	var hooks int
	for _, r := range am.Receivers {
		for _, wc := range r.WebhookConfigs {
			hooks++
			if route := routeOf(t, wc.URL, "alertmanager"); routes.Routes[route].Auth.BearerTokenEnv == "" {
				t.Errorf("alertmanager webhook %s: want a route of relay.yml with bearer auth", wc.URL)
			}
			if !wc.SendResolved || wc.HTTPConfig.Authorization.CredentialsFile == "" {
				t.Errorf("alertmanager webhook %s: want send_resolved and authorization.credentials_file", wc.URL)
			}
		}
	}
	if hooks == 0 {
		t.Error("alertmanager.yml has no webhook_configs")
	}
}

// grafanaProvisioning is Grafana's alerting provisioning file
// (provisioning/alerting/*.yaml), the part that defines contact points.
// Decoded strictly: a misspelt field fails.
type grafanaProvisioning struct {
	APIVersion    int `json:"apiVersion"`
	ContactPoints []struct {
		OrgID     int64  `json:"orgId"`
		Name      string `json:"name"`
		Receivers []struct {
			UID                   string                 `json:"uid"`
			Type                  string                 `json:"type"`
			DisableResolveMessage bool                   `json:"disableResolveMessage"`
			Settings              grafanaWebhookSettings `json:"settings"`
		} `json:"receivers"`
	} `json:"contactPoints"`
	DeleteContactPoints []struct {
		OrgID int64  `json:"orgId"`
		UID   string `json:"uid"`
	} `json:"deleteContactPoints,omitempty"`
}

// grafanaWebhookSettings are the settings of Grafana's webhook contact point.
type grafanaWebhookSettings struct {
	URL                      string `json:"url"`
	HTTPMethod               string `json:"httpMethod,omitempty"`
	Username                 string `json:"username,omitempty"`
	Password                 string `json:"password,omitempty"`
	AuthorizationScheme      string `json:"authorization_scheme,omitempty"`
	AuthorizationCredentials string `json:"authorization_credentials,omitempty"`
	MaxAlerts                any    `json:"maxAlerts,omitempty"`
	Title                    string `json:"title,omitempty"`
	Message                  string `json:"message,omitempty"`
	HMACConfig               *struct {
		Secret          string `json:"secret"`
		Header          string `json:"header,omitempty"`
		TimestampHeader string `json:"timestampHeader,omitempty"`
	} `json:"hmacConfig,omitempty"`
	TLSConfig *struct {
		InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
		CACertificate      string `json:"caCertificate,omitempty"`
		ClientCertificate  string `json:"clientCertificate,omitempty"`
		ClientKey          string `json:"clientKey,omitempty"`
	} `json:"tlsConfig,omitempty"`
}

func TestExampleGrafanaContactPoint(t *testing.T) {
	t.Parallel()
	_, w, routes := deployRelay(t)
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy/grafana/contact-point.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p grafanaProvisioning
	if err := decodeStrict(b, &p); err != nil {
		t.Fatalf("contact-point.yaml: %v", err)
	}
	if p.APIVersion != 1 || len(p.ContactPoints) == 0 {
		t.Fatalf("apiVersion %d with %d contact points, want apiVersion 1 and a contact point", p.APIVersion, len(p.ContactPoints))
	}
	var receivers int
	for _, cp := range p.ContactPoints {
		if cp.Name == "" || cp.OrgID == 0 {
			t.Errorf("contact point %+v: want a name and an orgId", cp)
		}
		for _, r := range cp.Receivers {
			receivers++
			s := r.Settings
			if r.Type != "webhook" || r.UID == "" || (s.HTTPMethod != "" && s.HTTPMethod != "POST") {
				t.Errorf("receiver %s: type %s, method %s, want a webhook with a uid, POST", r.UID, r.Type, s.HTTPMethod)
			}
			hmac := routes.Routes[routeOf(t, s.URL, "grafana")].Auth.GrafanaHMAC
			if hmac == nil {
				t.Errorf("%s: the route of relay.yml has no grafana_hmac", s.URL)
				continue
			}
			if s.HMACConfig == nil || s.HMACConfig.Header != "X-Grafana-Alerting-Signature" || s.HMACConfig.TimestampHeader != hmac.TimestampHeader {
				t.Errorf("hmacConfig %+v, want header X-Grafana-Alerting-Signature and the route's timestamp header %s", s.HMACConfig, hmac.TimestampHeader)
				continue
			}
			// Grafana expands $NAME from its own environment: the same
			// secret as relay's, by the same name.
			if want := "$" + hmac.SecretEnv; s.HMACConfig.Secret != want {
				t.Errorf("hmacConfig.secret %q, want %q, the variable the route reads", s.HMACConfig.Secret, want)
			}
			secretKeyOf(t, w, hmac.SecretEnv)
		}
	}
	if receivers == 0 {
		t.Error("contact-point.yaml has no receiver")
	}
}
