package opts

import "strings"

// ConvertKVStringsToMap turns ["k=v", "k2"] into {"k": "v", "k2": ""},
// splitting at the first '='. A later key replaces an earlier one. It is
// how --label values become the labels object.
func ConvertKVStringsToMap(values []string) map[string]string {
	m := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// ConvertKVStringsToMapWithNil turns --build-arg values into the
// buildargs object: "K=v" maps to "v", "K=" to "", and a bare "K" to the
// value lookupEnv reports for K, or nil (JSON null) when lookupEnv reports
// it unset or is nil. A later key replaces an earlier one.
func ConvertKVStringsToMapWithNil(values []string, lookupEnv func(string) (string, bool)) map[string]*string {
	m := make(map[string]*string, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			m[k] = nil
			if lookupEnv != nil {
				if ev, set := lookupEnv(k); set {
					m[k] = &ev
				}
			}
			continue
		}
		m[k] = &v
	}
	return m
}
