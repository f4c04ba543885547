package sms

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Status is where a message is in its delivery: queued → sending → sent or
// failed. While retries wait for their backoff the status stays sending,
// with LastError telling why the previous attempt failed.
type Status string

// The message statuses.
const (
	StatusQueued  Status = "queued"
	StatusSending Status = "sending"
	StatusSent    Status = "sent"
	StatusFailed  Status = "failed"
)

// Message is the record of one accepted message, as GET /api/sms/{id} shows it.
type Message struct {
	ID        string    `json:"id"`
	Phone     string    `json:"phone"`
	Template  string    `json:"template,omitempty"`
	Text      string    `json:"text"`
	Status    Status    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Worker    int       `json:"worker"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ErrNotFound is returned by Store.Get for an id that has no record.
var ErrNotFound = errors.New("message not found")

// Store keeps one JSON file per message, msg/<id>.json under its directory.
// Each write goes to a temporary file in the same directory that is then
// renamed over the record, so a reader in any process sees either the old or
// the new record, never a partial one.
type Store struct {
	dir string
}

// NewStore returns a store in dir, created if missing.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("message store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// NewID returns a message id: 26 characters of crypto/rand base32 (130 bits),
// unique across workers, hosts and restarts without coordination.
func NewID() string { return rand.Text() }

// validID reports whether id has the shape NewID produces, which also keeps
// it from naming a path outside the store.
func validID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') {
			return false
		}
	}
	return true
}

// Put writes m atomically, replacing any earlier record with its id.
func (s *Store) Put(m Message) error {
	if !validID(m.ID) {
		return fmt.Errorf("message store: invalid id %q", m.ID)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("message store: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-"+m.ID+"-*")
	if err != nil {
		return fmt.Errorf("message store: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("message store: write %s: %w", m.ID, err)
	}
	if err := os.Rename(tmp.Name(), s.path(m.ID)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("message store: %w", err)
	}
	return nil
}

// Get reads the record of id; ErrNotFound if there is none (or id is not an id).
func (s *Store) Get(id string) (Message, error) {
	if !validID(id) {
		return Message{}, ErrNotFound
	}
	data, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("message store: %w", err)
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("message store: record %s: %w", id, err)
	}
	return m, nil
}

// Delete removes the record of id; a missing record is not an error.
func (s *Store) Delete(id string) error {
	if !validID(id) {
		return nil
	}
	err := os.Remove(s.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("message store: %w", err)
	}
	return nil
}

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+".json") }
