package opts

import (
	"fmt"
	"sort"

	units "github.com/docker/go-units"
)

// Ulimit is one resource limit as the build API expects it; it encodes to
// JSON as {"Name":"nofile","Hard":2048,"Soft":1024}.
type Ulimit struct {
	Name string `json:"Name"`
	Hard int64  `json:"Hard"`
	Soft int64  `json:"Soft"`
}

// String returns "name=soft:hard".
func (u *Ulimit) String() string {
	return fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard)
}

// UlimitOpt is the --ulimit flag (pflag type "ulimit"): repeated
// "name=soft[:hard]" values keyed by name, a later one replacing an
// earlier one with the same name.
type UlimitOpt struct {
	values *map[string]*Ulimit
}

// NewUlimitOpt returns a UlimitOpt that stores into *ref, or into a map of
// its own when ref is nil.
func NewUlimitOpt(ref *map[string]*Ulimit) *UlimitOpt {
	if ref == nil {
		ref = &map[string]*Ulimit{}
	}
	return &UlimitOpt{values: ref}
}

// Set parses val with go-units ParseUlimit ("nproc=10" means soft=hard=10)
// and returns its errors unchanged, e.g. "invalid ulimit argument: nofile"
// or "invalid ulimit type: foo".
func (o *UlimitOpt) Set(val string) error {
	l, err := units.ParseUlimit(val)
	if err != nil {
		return err
	}
	if *o.values == nil {
		*o.values = map[string]*Ulimit{}
	}
	(*o.values)[l.Name] = &Ulimit{Name: l.Name, Hard: l.Hard, Soft: l.Soft}
	return nil
}

// String returns the limits as "[name=soft:hard ...]" sorted, and "[]"
// when there are none (docker's --help shows "(default [])").
func (o *UlimitOpt) String() string {
	out := make([]string, 0, len(*o.values))
	for _, u := range *o.values {
		out = append(out, u.String())
	}
	sort.Strings(out)
	return fmt.Sprintf("%v", out)
}

// Type returns "ulimit".
func (o *UlimitOpt) Type() string {
	return "ulimit"
}

// GetList returns the limits sorted by name (never nil).
func (o *UlimitOpt) GetList() []*Ulimit {
	out := make([]*Ulimit, 0, len(*o.values))
	for _, u := range *o.values {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
