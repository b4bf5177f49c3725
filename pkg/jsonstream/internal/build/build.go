// Package build holds the type the image ID is decoded into, named as
// docker names it (api/types/build.Result), so that an aux payload that
// does not parse gives the error text docker prints after "Failed to parse
// aux message: " (e.g. "json: cannot unmarshal number into Go struct field
// Result.ID of type string").
package build

// Result is the payload of the aux message that carries the image ID.
type Result struct {
	ID string
}
