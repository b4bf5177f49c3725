// Package opts holds the pflag.Value types and value validators behind
// docker's build flags (all of the legacy DOCKER_BUILDKIT=0 command's, and
// --shm-size and --ulimit of BuildKit's), written to
// behave exactly like docker CLI 28.2.2's own opts package: the same
// normalisation of accepted values, the same error text for rejected ones
// (pflag wraps it as `invalid argument "<v>" for "<flag>" flag: <error>`),
// and the same Type() and String() results, which decide how a flag and its
// default are shown in --help.
//
// Flag types used by the legacy build command and where they live:
//
//   - list (--tag, --build-arg, --label, --add-host): [ListOpts] with
//     [ValidateTag], [ValidateEnv],
//     [ValidateLabel] and [ValidateExtraHost].
//   - ulimit (--ulimit): [UlimitOpt].
//   - bytes (--memory, --shm-size, --memory-swap): [MemBytes] and
//     [MemSwapBytes].
//   - strings (--cache-from, --security-opt): not defined here; docker uses
//     pflag's own StringSliceVar (CSV-split, default "[]", which pflag hides
//     in --help), and so should callers.
//
// Nothing in this package reads the process environment: the value of a
// bare `--build-arg NAME` is looked up by [ConvertKVStringsToMapWithNil]
// through an injected lookup function.
package opts

import "fmt"

// ValidatorFunc checks a flag value and returns the value to store, which
// may be a normalised form of the input, or an error whose text is shown
// to the user after pflag's `invalid argument ... flag: ` prefix.
type ValidatorFunc func(val string) (string, error)

// ListOpts is a repeatable flag (pflag type "list") that collects every
// value given, in order, after passing each one through an optional
// validator.
type ListOpts struct {
	values    []string
	validator ValidatorFunc
}

// NewListOpts returns an empty ListOpts that runs validator (which may be
// nil) on every value set.
func NewListOpts(validator func(string) (string, error)) *ListOpts {
	return &ListOpts{validator: validator}
}

// Set validates value and appends the (possibly normalised) result. The
// validator's error is returned unchanged.
func (o *ListOpts) Set(value string) error {
	if o.validator != nil {
		v, err := o.validator(value)
		if err != nil {
			return err
		}
		value = v
	}
	o.values = append(o.values, value)
	return nil
}

// String returns "" while the list is empty, so --help shows no default
// for a list flag (as docker), and "[a b]" otherwise.
func (o *ListOpts) String() string {
	if len(o.values) == 0 {
		return ""
	}
	return fmt.Sprintf("%v", o.values)
}

// Type returns "list", the value name docker's --help shows.
func (o *ListOpts) Type() string {
	return "list"
}

// GetAll returns the collected values in the order they were given (nil
// when none were).
func (o *ListOpts) GetAll() []string {
	return o.values
}

// GetSlice returns the same as GetAll; it lets cobra's shell completion
// treat the flag as repeatable.
func (o *ListOpts) GetSlice() []string {
	return o.values
}

// Len returns the number of collected values.
func (o *ListOpts) Len() int {
	return len(o.values)
}
