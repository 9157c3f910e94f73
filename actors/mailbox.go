package actors

import (
	"sync"
	"weak"

	"github.com/asynkron/protoactor-go/actor"
)

// CountedMailbox wraps a mailbox producer so that each mailbox it makes can be found by its
// actor's address and id, for its depth (the console's actor tree). The registry holds weak
// pointers: a stopped actor's mailbox is collected as usual.
func CountedMailbox(p actor.MailboxProducer) actor.MailboxProducer {
	return func() actor.Mailbox { return &countedMailbox{Mailbox: p()} }
}

// countedMailbox registers itself when protoactor gives it its actor, and leaves the registry
// when the actor is told to stop.
type countedMailbox struct {
	actor.Mailbox
	key string
}

func (m *countedMailbox) RegisterHandlers(inv actor.MessageInvoker, d actor.Dispatcher) {
	if s, ok := inv.(interface{ Self() *actor.PID }); ok {
		if pid := s.Self(); pid != nil {
			m.key = pid.Address + "/" + pid.Id
			mailboxes.add(m.key, m)
		}
	}
	m.Mailbox.RegisterHandlers(inv, d)
}

func (m *countedMailbox) PostSystemMessage(msg any) {
	if _, stop := msg.(*actor.Stop); stop && m.key != "" {
		mailboxes.remove(m.key, m)
	}
	m.Mailbox.PostSystemMessage(msg)
}

// mailboxRegistry maps "address/id" to the mailbox of the actor, weakly.
type mailboxRegistry struct {
	mu    sync.Mutex
	m     map[string]weak.Pointer[countedMailbox]
	added int
}

var mailboxes = &mailboxRegistry{m: map[string]weak.Pointer[countedMailbox]{}}

func (r *mailboxRegistry) add(key string, mb *countedMailbox) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[key] = weak.Make(mb)
	if r.added++; r.added%1024 == 0 { // drop the entries of collected mailboxes now and then
		for k, p := range r.m {
			if p.Value() == nil {
				delete(r.m, k)
			}
		}
	}
}

// remove drops key when it still names mb (a new actor of the same name may have taken it).
func (r *mailboxRegistry) remove(key string, mb *countedMailbox) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.m[key]; ok && (p.Value() == mb || p.Value() == nil) {
		delete(r.m, key)
	}
}

// MailboxDepth is the number of user messages waiting in the mailbox of actor id of the actor
// system at address, when it was made by CountedMailbox.
func MailboxDepth(address, id string) (int, bool) {
	mailboxes.mu.Lock()
	p, ok := mailboxes.m[address+"/"+id]
	mailboxes.mu.Unlock()
	if !ok {
		return 0, false
	}
	mb := p.Value()
	if mb == nil {
		return 0, false
	}
	return mb.UserMessageCount(), true
}
