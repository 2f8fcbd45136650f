//go:build !unix

package smpp_test

import (
	"net"
	"testing"
)

// refusedAddr returns a loopback address nothing listens on: the port of a
// listener closed at once (see the unix version for why that is weaker).
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
