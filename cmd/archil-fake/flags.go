package main

// gen is a set of client generations. The double is a 0.8 client unless
// the old-client knob makes it one from before 0.8 (see archil-cli.md):
// both must stay tested, since the launcher runs against either.
type gen uint8

const (
	genOld gen = 1 << iota // before 0.8
	gen08                  // 0.8.x
	genAll = genOld | gen08
)

// generation is the client this invocation plays.
func (s *state) generation() gen {
	if s.knobOn(knobOldClient) {
		return genOld
	}
	return gen08
}

// Versions each generation reports.
const (
	version08  = "0.8.8-fake"
	versionOld = "0.7.4-fake"
	protocol08 = "3"
	release08  = "v0.8.8"
)

func (g gen) version() string {
	if g == genOld {
		return versionOld
	}
	return version08
}

// globalFlags come before the subcommand.
var globalFlags = []flagSpec{
	{long: "log-level", value: "LEVEL", gens: genAll},
	{long: "version", short: 'V', gens: genAll},
	{long: "help", short: 'h', gens: genAll},
	{long: "quiet", short: 'q', gens: gen08},
	{long: "verbose", short: 'v', gens: gen08},
}

// mountFlags are the flags of `mount`. --statistics, --log-dir and
// --max-log-size-mb are not in the 0.8.8 summary, which is not complete:
// both generations keep them.
var mountFlags = []flagSpec{
	{long: "region", value: "REGION", gens: genAll},
	{long: "no-fork", gens: genAll},
	{long: "shared", gens: genAll},
	{long: "force", short: 'f', gens: genAll},
	{long: "max-cache-mb", value: "N", num: true, gens: genAll},
	{long: "target-cache-mb", value: "N", num: true, gens: genAll},
	{long: "statistics", gens: genAll},
	{long: "log-dir", value: "DIR", gens: genAll},
	{long: "max-log-size-mb", value: "N", num: true, gens: genAll},
	// Accepted so the call log shows it was passed (it never must be).
	{long: "auth-token", value: "TOKEN", gens: genAll},
	{long: "disable-xattrs", gens: genOld},
	{long: "read-only", gens: gen08},
	{long: "enable-xattrs", gens: gen08},
	{long: "writeback-cache", gens: gen08},
	{long: "log-metrics", gens: gen08},
	{long: "dentry-ttl-secs", value: "N", num: true, gens: gen08},
	{long: "max-iodepth", value: "N", num: true, gens: gen08},
	{long: "nconnect", value: "N", num: true, gens: gen08},
	{long: "window-size", value: "N", num: true, gens: gen08},
	{long: "attachment-count", value: "N", num: true, gens: gen08},
	{long: "transaction-processors", value: "N", num: true, gens: gen08},
	{long: "sts-region", value: "REGION", gens: gen08},
}

var unmountFlags = []flagSpec{
	{long: "force", short: 'f', gens: gen08},
	{long: "help", short: 'h', gens: genAll},
}
