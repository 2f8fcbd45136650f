package policy

import "testing"

// TestOutboxFlushSkipsWhatWasSettled: a flush reads the outbox, and an entry
// it read may be sent and acknowledged by another goroutine (a release at
// the handset's YES) before the flush gets to it; the flush must then not
// take it again, or the message goes out twice. Entries settled while no
// flush runs, or before a pass reads the outbox, are not remembered.
func TestOutboxFlushSkipsWhatWasSettled(t *testing.T) {
	var o outboxState
	o.settle("before") // no flush running: nothing to remember
	if len(o.settled) != 0 {
		t.Fatal("an entry settled with no flush running was remembered")
	}

	o.flushing = true
	o.startPass() // the pass reads the outbox: "mo-1" is in it
	if !o.take("mo-1") {
		t.Fatal("the release could not take mo-1")
	}
	if o.take("mo-1") {
		t.Fatal("mo-1 taken twice while in flight")
	}
	o.settle("mo-1") // sent, answered, acknowledged: ack settles, then gives
	o.give("mo-1")
	if o.take("mo-1") {
		t.Fatal("the flush took mo-1 again after it was acknowledged")
	}
	if !o.take("mo-2") {
		t.Fatal("an entry nobody settled was refused")
	}

	o.startPass() // the next pass reads the outbox afresh
	if !o.take("mo-3") || len(o.settled) != 0 {
		t.Fatalf("a new pass still remembers %v", o.settled)
	}
}
