package opts

import units "github.com/docker/go-units"

// MemBytes is a memory size flag (pflag type "bytes") taking binary units
// as go-units RAMInBytes parses them: "512m" is 536870912, "1.5g", "1kib"
// and "1KB" are accepted. Errors are go-units', e.g. "invalid size: 'xx'"
// or "invalid suffix: 'q'".
type MemBytes int64

// Set parses value with go-units RAMInBytes.
func (m *MemBytes) Set(value string) error {
	n, err := units.RAMInBytes(value)
	*m = MemBytes(n)
	return err
}

// String returns "0" for zero, which pflag hides as a default in --help,
// and a human-readable size such as "512MiB" otherwise.
func (m *MemBytes) String() string {
	if *m == 0 {
		return "0"
	}
	return units.BytesSize(float64(*m))
}

// Type returns "bytes".
func (m *MemBytes) Type() string {
	return "bytes"
}

// Value returns the size in bytes.
func (m *MemBytes) Value() int64 {
	return int64(*m)
}

// MemSwapBytes is like [MemBytes] but also accepts the literal "-1"
// (unlimited swap) for --memory-swap.
type MemSwapBytes int64

// Set accepts "-1" as -1 and parses anything else like [MemBytes.Set].
func (m *MemSwapBytes) Set(value string) error {
	if value == "-1" {
		*m = -1
		return nil
	}
	n, err := units.RAMInBytes(value)
	*m = MemSwapBytes(n)
	return err
}

// String formats the value as [MemBytes.String] does.
func (m *MemSwapBytes) String() string {
	b := MemBytes(*m)
	return b.String()
}

// Type returns "bytes".
func (m *MemSwapBytes) Type() string {
	return "bytes"
}

// Value returns the size in bytes (-1 for unlimited).
func (m *MemSwapBytes) Value() int64 {
	return int64(*m)
}
