package buildreport

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as one indented JSON document (schema.md).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
