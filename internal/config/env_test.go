package config

import (
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/relayhq/relay/internal/secret"
)

// files is a fake file system for readFile: path -> content.
type files map[string]string

func (f files) read(path string) ([]byte, error) {
	v, ok := f[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return []byte(v), nil
}

// vars is a fake environment for getenv.
type vars map[string]string

func (v vars) get(name string) string { return v[name] }

// validEnv is an Env as envconfig fills it with its defaults.
func validEnv() Env {
	return Env{
		Listen: ":8080", Store: secret.New(DefaultStore),
		MaxBodyBytes: 1 << 20, LogLevel: "info", LogFormat: "json",
		DedupTTL: 5 * time.Minute, MaxAge: 24 * time.Hour, FollowTTL: 7 * 24 * time.Hour, MaxQueued: 1000000,
		ShutdownTimeout: 25 * time.Second,
	}
}

func TestResolveFiles(t *testing.T) {
	t.Parallel()
	fsys := files{"/run/auth": "auth-token-from-file\n", "/run/db": "postgres://u:pw@db/relay\r\n", "/run/empty": "\n"}
	cases := []struct {
		name    string
		env     func(*Env)
		check   func(t *testing.T, e Env)
		wantErr string
	}{
		{
			name: "token from file, trailing newline trimmed",
			env:  func(e *Env) { e.AuthTokenFile = "/run/auth" },
			check: func(t *testing.T, e Env) {
				if got := e.AuthToken.Reveal(); got != "auth-token-from-file" {
					t.Errorf("AuthToken = %q, want %q", got, "auth-token-from-file")
				}
			},
		},
		{
			name: "store file replaces the default store",
			env:  func(e *Env) { e.StoreFile = "/run/db" },
			check: func(t *testing.T, e Env) {
				if got := e.Store.Reveal(); got != "postgres://u:pw@db/relay" {
					t.Errorf("Store = %q", got)
				}
			},
		},
		{
			name:    "both a secret and its file",
			env:     func(e *Env) { e.AuthToken = secret.New("inline-auth"); e.AuthTokenFile = "/run/auth" },
			wantErr: "RELAY_AUTH_TOKEN and RELAY_AUTH_TOKEN_FILE are both set",
		},
		{
			name:    "explicit store and store file",
			env:     func(e *Env) { e.Store = secret.New("sqlite:///x.db"); e.StoreFile = "/run/db" },
			wantErr: "RELAY_STORE and RELAY_STORE_FILE are both set",
		},
		{
			name:    "missing file",
			env:     func(e *Env) { e.AdminTokenFile = "/run/nope" },
			wantErr: "RELAY_ADMIN_TOKEN_FILE: read secret file: open /run/nope",
		},
		{
			name:    "empty file",
			env:     func(e *Env) { e.AdminTokenFile = "/run/empty" },
			wantErr: "RELAY_ADMIN_TOKEN_FILE: secret file /run/empty is empty",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := validEnv()
			c.env(&e)
			err := e.ResolveFiles(fsys.read)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, c.wantErr)
				}
				for _, leak := range []string{"inline-auth", "auth-token-from-file", "pw@db"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error reveals a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveFiles: %v", err)
			}
			c.check(t, e)
		})
	}
}

// TestEverySecretHasAFileTwin keeps Env honest: each secret.Secret field
// has a *_FILE twin that ResolveFiles reads.
func TestEverySecretHasAFileTwin(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeOf(Env{})
	tags := map[string]bool{}
	for i := range typ.NumField() {
		tags[typ.Field(i).Tag.Get("envconfig")] = true
	}
	e := Env{}
	twins := map[string]bool{}
	for _, tw := range e.twins() {
		twins[strings.TrimPrefix(tw.name, "RELAY_")] = true
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type != reflect.TypeOf(secret.Secret{}) {
			continue
		}
		tag := f.Tag.Get("envconfig")
		if !tags[tag+"_FILE"] {
			t.Errorf("secret %s has no %s_FILE field", f.Name, tag)
		}
		if !twins[tag] {
			t.Errorf("secret %s is not resolved by ResolveFiles", f.Name)
		}
	}
}

func TestEnvValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     func(*Env)
		wantErr string // "" = valid
	}{
		{"defaults", func(*Env) {}, ""},
		{"admin and auth tokens", func(e *Env) { e.AdminToken, e.AuthToken = secret.New("a"), secret.New("b") }, ""},
		{"store without scheme", func(e *Env) { e.Store = secret.New("hunter2@db") }, "RELAY_STORE: want sqlite://PATH or postgres://"},
		{"store unknown scheme", func(e *Env) { e.Store = secret.New("mysql://u:hunter2@db") }, `RELAY_STORE: unknown scheme "mysql"`},
		{"zero body size", func(e *Env) { e.MaxBodyBytes = 0 }, "RELAY_MAX_BODY_BYTES: must be positive"},
		{"negative queue", func(e *Env) { e.MaxQueued = -1 }, "RELAY_MAX_QUEUED: must be positive"},
		{"zero max age", func(e *Env) { e.MaxAge = 0 }, "RELAY_MAX_AGE: must be positive"},
		{"follow TTL below max age", func(e *Env) { e.FollowTTL = 12 * time.Hour }, "RELAY_FOLLOW_TTL: must be at least RELAY_MAX_AGE (24h0m0s), got 12h0m0s"},
		{"follow TTL equal to max age", func(e *Env) { e.FollowTTL = e.MaxAge }, ""},
		{"unknown log level", func(e *Env) { e.LogLevel = "loud" }, `RELAY_LOG_LEVEL: want debug, info, warn or error, got "loud"`},
		{"unknown log format", func(e *Env) { e.LogFormat = "xml" }, `RELAY_LOG_FORMAT: want json or console, got "xml"`},
		{"empty listen", func(e *Env) { e.Listen = "" }, "RELAY_LISTEN: must not be empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := validEnv()
			c.env(&e)
			err := e.Validate()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals a secret: %v", err)
			}
		})
	}
}

// TestEnvconfigDefaults checks the struct tags: envconfig fills the
// documented defaults and reads the RELAY_* names.
func TestEnvconfigDefaults(t *testing.T) {
	t.Setenv("RELAY_ADMIN_TOKEN_FILE", "/run/admin")
	t.Setenv("RELAY_MAX_BODY_BYTES", "2048")
	var e Env
	if err := envconfig.Process("RELAY", &e); err != nil {
		t.Fatalf("Process: %v", err)
	}
	want := validEnv()
	want.AdminTokenFile = "/run/admin"
	want.MaxBodyBytes = 2048
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %+v\nwant %+v", e, want)
	}
	if e.Store.Reveal() != DefaultStore {
		t.Errorf("Store = %q, want %q", e.Store.Reveal(), DefaultStore)
	}
}

// TestEnvTemplatesList: RELAY_TEMPLATES takes comma-separated paths.
func TestEnvTemplatesList(t *testing.T) {
	t.Setenv("RELAY_TEMPLATES", "/etc/alertmanager/templates/*.tmpl,/etc/relay/templates")
	var e Env
	if err := envconfig.Process("RELAY", &e); err != nil {
		t.Fatalf("Process: %v", err)
	}
	if want := []string{"/etc/alertmanager/templates/*.tmpl", "/etc/relay/templates"}; !slices.Equal(e.Templates, want) {
		t.Errorf("Templates = %q, want %q", e.Templates, want)
	}
}
