package console

import (
	"io"
	"io/fs"
	"net/url"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// Name is the kind's type.
const Name = "console"

// Kind is the console sender kind: a sender that prints. Its built-in
// sender always exists; it takes no options.
type Kind struct {
	// Out is where its messages are printed.
	Out *Sender
}

var _ senders.Kind = Kind{}

// NewKind returns the kind printing to w.
func NewKind(w io.Writer) Kind { return Kind{Out: New(w, nil, nil)} }

// Name implements senders.Kind.
func (Kind) Name() string { return Name }

// Defaults implements senders.Kind: no limits; the size of a chat message.
func (Kind) Defaults() senders.Settings {
	return senders.Settings{LimitName: "destination", MaxChars: 30000, Separator: "\n\n――――――――\n\n", Fold: true}
}

// Notation implements senders.Kind: plain text.
func (Kind) Notation() templates.Notation { return templates.Notation{} }

// Templates implements senders.Kind: none of its own.
func (Kind) Templates() fs.FS { return nil }

// Sender implements senders.Kind.
func (k Kind) Sender(name string, s senders.Settings, n confyaml.Node, _ confyaml.Source) (*senders.Config, error) {
	var none struct{}
	if err := n.Decode(&none); err != nil {
		return nil, err
	}
	return &senders.Config{Name: name, Kind: k, Settings: s, Scope: Name}, nil
}

// Builtin implements senders.Kind: always there.
func (k Kind) Builtin(senders.Env, bool) (*senders.Config, string, error) {
	return &senders.Config{Name: Name, Kind: k, Settings: k.Defaults(), Scope: Name}, "", nil
}

// Target implements senders.Kind: a console target takes no options.
func (Kind) Target(n confyaml.Node) (senders.Target, error) {
	if n.Len() > 0 {
		key, at := n.Entry(0)
		return nil, at.Errorf("unknown key %q: a console target takes only sender, template and matchers", key)
	}
	return target{}, nil
}

// Direct implements senders.Kind: none.
func (Kind) Direct(string, url.Values) (senders.Target, error) {
	return nil, senders.ErrNoDirect
}

// New implements senders.Kind.
func (k Kind) New(*senders.Config, senders.Runtime) (senders.Poster, error) { return k.Out, nil }

type target struct{}

func (target) Resolve(*alert.Data) (string, string) { return "", "" }
