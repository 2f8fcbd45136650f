package config

import (
	"slices"
	"time"
)

// Config is optguard's whole configuration. Build one with Default, Load or
// Parse; after changing fields in code, call Validate.
type Config struct {
	Listen   Listen    `yaml:"listen"`   // where ESMEs connect
	Session  Session   `yaml:"session"`  // per-bind SMPP session behaviour
	Upstream Upstreams `yaml:"upstream"` // the SMSC(s) optguard binds to
	Admin    Admin     `yaml:"admin"`    // the admin HTTP listener and its operator API
	Data     Data      `yaml:"data"`     // where optguard keeps its files
	Store    Store     `yaml:"store"`    // the durable store
	Log      Log       `yaml:"log"`      // process logging
	Shutdown Shutdown  `yaml:"shutdown"` // graceful shutdown
	Webhooks Webhooks  `yaml:"webhooks"` // consent changes posted to other systems
	Exports  Exports   `yaml:"exports"`  // files optguard writes on its own (the daily opt-out file)

	Policy        Policy         `yaml:"policy"`        // process-wide consent policy settings
	Organizations []Organization `yaml:"organizations"` // tenants, in file order; see ResolvedOrganizations

	// src is where the config was read from (nil for a Config built in
	// code); Validate uses it to put line numbers in its errors.
	src *source
}

// Listen is the SMPP listener that ESMEs bind to.
type Listen struct {
	Address             string    `yaml:"address"`                 // plain TCP host:port, required
	TLS                 ListenTLS `yaml:"tls"`                     // optional second listener with TLS
	MaxConnections      int       `yaml:"max_connections"`         // open ESME connections at most, 1..1000000
	MaxBindsPerSystemID int       `yaml:"max_binds_per_system_id"` // concurrent binds per system_id; 0 = unlimited
	BindTimeout         Duration  `yaml:"bind_timeout"`            // time a new connection has to send its bind
}

// ListenTLS is the optional TLS listener for ESMEs.
type ListenTLS struct {
	Address      string `yaml:"address"`        // host:port; empty = no TLS listener
	CertFile     string `yaml:"cert_file"`      // PEM server certificate (chain); required with Address
	KeyFile      string `yaml:"key_file"`       // PEM private key of CertFile; required with Address
	ClientCAFile string `yaml:"client_ca_file"` // PEM CAs; when set, clients must present a certificate they signed
}

// UnknownCommands says what a session does with a command_id optguard does not know.
type UnknownCommands string

// The UnknownCommands values.
const (
	UnknownCommandsRelay  UnknownCommands = "relay"  // relay it end to end like any other PDU
	UnknownCommandsRefuse UnknownCommands = "refuse" // answer generic_nack ESME_RINVCMDID
)

// Session holds the limits and timers of each bind (both legs).
type Session struct {
	Window              int             `yaml:"window"`                // outstanding requests per leg, 1..100000
	ResponseTimeout     Duration        `yaml:"response_timeout"`      // how long a request waits for its response
	TimeoutStatus       Status          `yaml:"timeout_status"`        // answered to an ESME request the SMSC did not answer (or whose SMSC leg was lost); not ESME_ROK
	EnquireLinkInterval Duration        `yaml:"enquire_link_interval"` // idle time before sending enquire_link; 0 = never
	UnbindTimeout       Duration        `yaml:"unbind_timeout"`        // how long an orderly unbind waits for unbind_resp
	WriteTimeout        Duration        `yaml:"write_timeout"`         // a peer that does not read for this long is dropped
	MaxPDUSize          int             `yaml:"max_pdu_size"`          // largest command_length accepted, 4096..16777216
	UnknownCommands     UnknownCommands `yaml:"unknown_commands"`      // relay or refuse unknown command_ids
}

// Upstreams chooses the SMSC for each bind: the first route whose
// SystemIDs contain the bind's system_id, else Default. Use Config.Route.
type Upstreams struct {
	Default Upstream `yaml:"default"` // used for system_ids no route lists, and inherited by routes
	Routes  []Route  `yaml:"routes"`  // per-system_id SMSCs, tried in order
}

// Upstream is one SMSC endpoint.
type Upstream struct {
	Address        string      `yaml:"address"`         // SMSC host:port; empty = no SMSC (see Config.UsesSimulator)
	ConnectTimeout Duration    `yaml:"connect_timeout"` // TCP (and TLS handshake) connect limit
	TLS            UpstreamTLS `yaml:"tls"`             // TLS to the SMSC
}

// UpstreamTLS is the client-side TLS optguard uses towards an SMSC.
type UpstreamTLS struct {
	Enabled            bool   `yaml:"enabled"`              // connect with TLS
	ServerName         string `yaml:"server_name"`          // name to verify; empty = host of the address
	CAFile             string `yaml:"ca_file"`              // PEM CAs to trust; empty = system roots
	CertFile           string `yaml:"cert_file"`            // PEM client certificate; goes with KeyFile
	KeyFile            string `yaml:"key_file"`             // PEM private key of CertFile
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // do not verify the SMSC's certificate (tests only)
}

// Route sends the binds of some system_ids to their own SMSC. Fields left
// unset inherit from upstream.default.
type Route struct {
	Name           string       `yaml:"name"`            // unique name, for logs and metrics
	SystemIDs      []string     `yaml:"system_ids"`      // bind system_ids (exact match) this route takes
	Address        string       `yaml:"address"`         // SMSC host:port, required
	ConnectTimeout Duration     `yaml:"connect_timeout"` // 0 = inherit upstream.default.connect_timeout
	TLS            *UpstreamTLS `yaml:"tls"`             // nil = inherit upstream.default.tls; when set, replaces it whole
}

// Data says where optguard keeps its files.
type Data struct {
	Dir     string `yaml:"dir"`      // data directory (the store lives under it), required
	KeyFile string `yaml:"key_file"` // the installation key file; empty = dir/optguard.key
	// Migrate lets the store convert a data directory more than one
	// format behind (serve -migrate); not a file key: a conversion of
	// that size is asked for each time.
	Migrate bool `yaml:"-"`
}

// MessageLogMode says which relayed messages the message log records.
type MessageLogMode string

// The MessageLogMode values.
const (
	MessageLogFull    MessageLogMode = "full"    // every message
	MessageLogSampled MessageLogMode = "sampled" // a random share of messages (MessageLog.SampleRate)
	MessageLogOff     MessageLogMode = "off"     // none
)

// Store tunes the durable store.
type Store struct {
	HoldMaxPerScope int        `yaml:"hold_max_per_scope"` // held messages kept per consent scope, 1..100000
	IDMapTTL        Duration   `yaml:"id_map_ttl"`         // how long message_id mappings are kept for receipts
	GCInterval      Duration   `yaml:"gc_interval"`        // badger value-log GC period
	MinFreeBytes    ByteSize   `yaml:"min_free_bytes"`     // free space the data directory's filesystem keeps; below it durable work is refused with temporary errors
	MinFreePercent  float64    `yaml:"min_free_percent"`   // the same as a share of the filesystem's size, 0..50; the larger of the two applies
	MessageLog      MessageLog `yaml:"message_log"`        // the log of relayed messages
}

// MessageLog tunes the log of relayed messages (metadata for reports).
type MessageLog struct {
	Mode       MessageLogMode `yaml:"mode"`        // full, sampled or off
	SampleRate float64        `yaml:"sample_rate"` // share recorded when Mode is sampled, 0 < r <= 1
	Retention  Duration       `yaml:"retention"`   // how long entries are kept
	QueueSize  int            `yaml:"queue_size"`  // entries buffered before the writer; a full queue drops entries
}

// LogLevel is the lowest level that is logged.
type LogLevel string

// The LogLevel values.
const (
	LogLevelDebug LogLevel = "debug"
	LogLevelInfo  LogLevel = "info"
	LogLevelWarn  LogLevel = "warn"
	LogLevelError LogLevel = "error"
)

// LogFormat is how log lines are written.
type LogFormat string

// The LogFormat values.
const (
	LogFormatAuto    LogFormat = "auto"    // console on a terminal, JSON otherwise
	LogFormatJSON    LogFormat = "json"    // one JSON object per line
	LogFormatConsole LogFormat = "console" // human-readable
)

// Log configures process logging.
type Log struct {
	Level  LogLevel  `yaml:"level"`  // debug, info, warn or error
	Format LogFormat `yaml:"format"` // auto, json or console
	// Warnings a remote peer can cause are logged WarnBurst times per kind
	// and remote host in each WarnInterval; a summary line counts the rest.
	WarnInterval Duration `yaml:"warn_interval"`
	WarnBurst    int      `yaml:"warn_burst"`
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	DrainTimeout Duration `yaml:"drain_timeout"` // time given to binds to unbind and writes to finish
}

// Default returns a new Config with every default filled in. It has no
// upstream address, so UsesSimulator is true.
func Default() *Config {
	return &Config{
		Listen: Listen{
			Address:        ":2775",
			MaxConnections: 10000,
			BindTimeout:    Duration(10 * time.Second),
		},
		Session: Session{
			Window:              1000,
			ResponseTimeout:     Duration(30 * time.Second),
			TimeoutStatus:       0x08, // ESME_RSYSERR
			EnquireLinkInterval: Duration(30 * time.Second),
			UnbindTimeout:       Duration(5 * time.Second),
			WriteTimeout:        Duration(30 * time.Second),
			MaxPDUSize:          65536,
			UnknownCommands:     UnknownCommandsRelay,
		},
		Upstream: Upstreams{
			Default: Upstream{ConnectTimeout: Duration(5 * time.Second)},
		},
		Admin: Admin{
			Address:        "127.0.0.1:9775",
			MaxBodyBytes:   1 << 20,
			MaxUploadBytes: 256 << 20,
		},
		Data: Data{Dir: "./data"},
		Store: Store{
			HoldMaxPerScope: 100,
			IDMapTTL:        Duration(72 * time.Hour),
			GCInterval:      Duration(10 * time.Minute),
			MinFreeBytes:    256 << 20,
			MessageLog: MessageLog{
				Mode:       MessageLogFull,
				SampleRate: 0.1,
				Retention:  Duration(720 * time.Hour),
				QueueSize:  65536,
			},
		},
		Log:      Log{Level: LogLevelInfo, Format: LogFormatAuto, WarnInterval: Duration(10 * time.Second), WarnBurst: 5},
		Shutdown: Shutdown{DrainTimeout: Duration(10 * time.Second)},
		Webhooks: Webhooks{
			Timeout:     Duration(10 * time.Second),
			RetryMin:    Duration(time.Second),
			RetryMax:    Duration(5 * time.Minute),
			BatchSize:   100,
			DeliveryLog: 1000,
		},
		Exports: Exports{OptOuts: OptOutFile{Time: "01:00", TimeZone: "UTC"}},
		Policy: Policy{
			NoticeTLVTag:          0x1F01,
			ReassemblyTimeout:     Duration(60 * time.Second),
			ReassemblyMaxMessages: 10000,
			ExpiryScanInterval:    Duration(10 * time.Second),
			ConfirmationDeadline:  Duration(5 * time.Minute),
			PIN:                   PIN{Digits: 6, Expiry: Duration(10 * time.Minute), Attempts: 5},
		},
	}
}

// Route returns the SMSC for a bind with the given system_id: the first
// route whose SystemIDs contain it (exact match), with ConnectTimeout and TLS
// inherited from upstream.default where the route leaves them unset; else
// upstream.default itself. Address is empty when no route matches and
// upstream.default.address is empty: the caller then refuses the bind (or,
// when UsesSimulator, uses the built-in simulator).
func (c *Config) Route(systemID string) Upstream {
	_, u := c.RouteFor(systemID)
	return u
}

// RouteFor is Route that also returns the route's name, "default" for
// upstream.default.
func (c *Config) RouteFor(systemID string) (name string, u Upstream) {
	def := c.Upstream.Default
	for _, r := range c.Upstream.Routes {
		if !slices.Contains(r.SystemIDs, systemID) {
			continue
		}
		u := Upstream{Address: r.Address, ConnectTimeout: r.ConnectTimeout, TLS: def.TLS}
		if u.ConnectTimeout == 0 {
			u.ConnectTimeout = def.ConnectTimeout
		}
		if r.TLS != nil {
			u.TLS = *r.TLS
		}
		return r.Name, u
	}
	return "default", def
}

// UsesSimulator reports whether no SMSC is configured anywhere
// (upstream.default.address is empty and there are no routes). The CLI then
// starts the built-in SMSC simulator and warns.
func (c *Config) UsesSimulator() bool {
	return c.Upstream.Default.Address == "" && len(c.Upstream.Routes) == 0
}
