package smpp

// Kinds of the warnings a remote peer can cause by connecting, sending
// garbage or binding badly. They are rate-limited per kind and remote host
// (Server.warns, package ratelog) and counted in full by the metrics; the
// kind is a field of each line and of the summary of suppressed ones.
const (
	warnConnLimit       = "connection_limit"  // a connection over listen.max_connections
	warnBadFrame        = "unframeable_input" // a command_length out of range
	warnBindTimeout     = "bind_timeout"      // no bind within the bind timeout
	warnBindRefused     = "bind_refused"      // a bind optguard refused itself
	warnSMSCBindRefused = "smsc_bind_refused" // a bind the SMSC refused (a wrong password)
	warnFlooding        = "flooding_peer"     // requests into a full window, reads paused
	warnSilentPeer      = "silent_peer"       // no response for the write timeout
)

// warnAllowed reports whether a warning of kind from this session's remote
// may be logged now.
func (s *Session) warnAllowed(kind string) bool { return s.srv.warns.Allow(kind, s.remote) }
