package launcher

import "errors"

// ExitError is an error that carries the launcher's exit status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// exitErr wraps err with code; code 0 is never an error, so it becomes 1.
func exitErr(code int, err error) error {
	if code == 0 {
		code = 1
	}
	return &ExitError{Code: code, Err: err}
}

// ExitCode is the process exit status for Run's result: 0 for nil, the
// code of an *ExitError anywhere in the chain, 1 for anything else.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *ExitError
	if errors.As(err, &e) && e.Code != 0 {
		return e.Code
	}
	return 1
}
