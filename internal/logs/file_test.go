package logs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logFiles returns the log file and its backups in dir, oldest first.
func logFiles(t *testing.T, path string) []string {
	t.Helper()
	ext := filepath.Ext(path)
	backups, err := filepath.Glob(strings.TrimSuffix(path, ext) + "-*" + ext)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(backups) // the time stamps sort in time order
	return append(backups, path)
}

// numbers reads the records "... |n PAD" of files and returns how many
// times each n was seen; malformed lines fail the test.
func numbers(t *testing.T, files []string, maxSize int64) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) > maxSize {
			t.Errorf("%s: %d bytes, over the maximum %d", name, len(b), maxSize)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("%s ends in the middle of a record", name)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 2*MaxRecord)
		for sc.Scan() {
			msg := message(sc.Text())
			num, _, _ := strings.Cut(msg, " ")
			n, err := strconv.Atoi(num)
			if err != nil {
				t.Fatalf("%s: malformed record %.100q", name, sc.Text())
			}
			seen[n]++
		}
	}
	return seen
}

// numbered returns count lines "n PAD\n", n from first.
func numbered(first, count, pad int) string {
	p := strings.Repeat("p", pad)
	b := make([]byte, 0, count*(pad+10))
	for i := first; i < first+count; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ' ')
		b = append(b, p...)
		b = append(b, '\n')
	}
	return string(b)
}

func checkAll(t *testing.T, seen map[int]int, count int) {
	t.Helper()
	for i := 0; i < count; i++ {
		if seen[i] != 1 {
			t.Fatalf("record %d seen %d times", i, seen[i])
		}
	}
	if len(seen) != count {
		t.Fatalf("%d distinct records, want %d", len(seen), count)
	}
}

// TestFileRotationKeepsEveryRecord: 8 rotations at the smallest size,
// every record exactly once across the files, none torn, none too big.
func TestFileRotationKeepsEveryRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "A.S.log")
	f, err := OpenFile(path, FileOptions{MaxSize: 1, MaxFiles: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.MaxSize() != MinFileSize {
		t.Fatalf("max size %d, want it raised to %d", f.MaxSize(), MinFileSize)
	}
	const count = 8000 // ~1 KiB each: 8.6 MiB
	if err := Pump(To(f), strings.NewReader(numbered(0, count, 1100)), 1, LevelInfo); err != nil {
		t.Fatal(err)
	}
	files := logFiles(t, path)
	if len(files) < 9 {
		t.Fatalf("%d files: fewer than 8 rotations", len(files))
	}
	checkAll(t, numbers(t, files, MinFileSize), count)
	if st := f.Stats(); st.Written != count || st.Lost != 0 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o644&^umask() {
		t.Fatalf("backup mode %v", fi.Mode())
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// TestFileMaxFiles: MaxFiles counts the current file; 1 keeps no backup.
func TestFileMaxFiles(t *testing.T) {
	for _, keep := range []int{1, 3} {
		t.Run(strconv.Itoa(keep), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "svc.log")
			f, err := OpenFile(path, FileOptions{MaxSize: MinFileSize, MaxFiles: keep})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			Pump(To(f), strings.NewReader(numbered(0, 6000, 1000)), 1, LevelInfo) // 6 files' worth
			// Old backups are removed by lumberjack's goroutine: wait.
			deadline := time.Now().Add(5 * time.Second)
			for len(logFiles(t, path)) > keep && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			files := logFiles(t, path)
			if len(files) != keep {
				t.Fatalf("%d files kept: %v", len(files), files)
			}
			// The newest records are the ones kept.
			if seen := numbers(t, files, MinFileSize); seen[5999] != 1 {
				t.Fatalf("the last record is missing")
			}
		})
	}
}

// TestFileStartsWithFullFile: an existing file already at its maximum is
// rotated before the first write, and its content kept.
func TestFileStartsWithFullFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.log")
	os.WriteFile(path, []byte(strings.Repeat("old record\n", MinFileSize/11)), 0o644)
	f, err := OpenFile(path, FileOptions{MaxSize: MinFileSize, MaxFiles: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	To(f).Write(Record{Time: time.Now(), Level: LevelInfo, Message: "0 new"})
	files := logFiles(t, path)
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	if b, _ := os.ReadFile(path); message(strings.TrimSpace(string(b))) != "0 new" {
		t.Fatalf("current file: %q", b)
	}
}

// TestFileReopenAfterExternalRename is logrotate's create mode: the file
// is renamed, the agent gets SIGUSR1 (Reopen), and writes go to a new file.
func TestFileReopenAfterExternalRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "A.S.log")
	f, err := OpenFile(path, FileOptions{MaxSize: 10 << 20, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := To(f)
	s.Write(Record{Time: time.Now(), Level: LevelInfo, Message: "0 before"})
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	s.Write(Record{Time: time.Now(), Level: LevelInfo, Message: "1 still to the renamed file"})
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	s.Write(Record{Time: time.Now(), Level: LevelInfo, Message: "2 after"})
	old, _ := os.ReadFile(path + ".1")
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(old), "\n") != 2 || strings.Count(string(cur), "\n") != 1 || !strings.HasSuffix(string(cur), "|2 after\n") {
		t.Fatalf("renamed file %q, new file %q", old, cur)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644&^umask() {
		t.Fatalf("new file mode %v", fi.Mode())
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	if _, err := OpenFile(filepath.Join(notDir, "x.log"), FileOptions{}); err == nil || !strings.Contains(err.Error(), "log directory") {
		t.Fatalf("a directory under a file: %v", err)
	}
	os.Mkdir(filepath.Join(dir, "x.log"), 0o755)
	if _, err := OpenFile(filepath.Join(dir, "x.log"), FileOptions{}); err == nil || !strings.Contains(err.Error(), "log file") {
		t.Fatalf("a file that is a directory: %v", err)
	}
}

// tinyFS mounts a tmpfs of size bytes for the test, or skips.
func tinyFS(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestFileDiskFull fills a tiny file system: failed writes are counted,
// reported once per episode (an episode ends at the first write that
// works, here a smaller batch that fits), leave no torn record, never
// panic, and writing resumes when space returns.
func TestFileDiskFull(t *testing.T) {
	dir := tinyFS(t, 2<<20)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 1<<20+512<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "A.S.log")
	var report bytes.Buffer
	f, err := OpenFile(path, FileOptions{MaxSize: 10 << 20, MaxFiles: 1, Options: Options{Report: &report, PID: 99}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := To(f)
	// About 900 KiB of records for about 500 KiB of space.
	const first = 9000
	Pump(s, strings.NewReader(numbered(0, first, 90)), 1, LevelInfo)
	st := f.Stats()
	if st.Lost == 0 || st.Written+st.Lost != first {
		t.Fatalf("disk full not seen: %+v", st)
	}
	os.Remove(filler)
	Pump(s, strings.NewReader(numbered(first, 100, 90)), 1, LevelInfo)
	failing := strings.Count(report.String(), "(log records are lost until writing works again)")
	working := strings.Count(report.String(), "works again;")
	if failing == 0 || failing != working || uint64(failing) >= st.Errors || strings.Count(report.String(), "\n") != 2*failing {
		t.Fatalf("%d failed writes reported as:\n%s", st.Errors, report.String())
	}
	checkAfterLoss(t, path, first+100, f.Stats(), failing)
}

// checkAfterLoss checks a file written with numbered records some of which
// were lost: no torn record, none twice, one loss notice per episode whose
// counts add up, and the lost ones are exactly the missing ones.
func checkAfterLoss(t *testing.T, path string, count int, st Stats, episodes int) {
	t.Helper()
	b, _ := os.ReadFile(path)
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("file ends with a torn record (%d bytes)", len(b))
	}
	seen := map[int]int{}
	notices, noticed := 0, 0
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		msg := message(l)
		if strings.HasPrefix(msg, "node-agent: ") {
			var n int
			if _, err := fmt.Sscanf(msg, "node-agent: %d records", &n); err != nil || !strings.Contains(l, "|WARN|") {
				t.Fatalf("loss notice %q", l)
			}
			notices++
			noticed += n
			continue
		}
		num, pad, _ := strings.Cut(msg, " ")
		n, err := strconv.Atoi(num)
		if err != nil || pad != strings.Repeat("p", 90) {
			t.Fatalf("torn record %.120q", l)
		}
		seen[n]++
	}
	if notices != episodes || uint64(noticed) != st.Lost {
		t.Fatalf("%d notices for %d records, want %d for %d", notices, noticed, episodes, st.Lost)
	}
	missing := 0
	for i := 0; i < count; i++ {
		switch seen[i] {
		case 0:
			missing++
		case 1:
		default:
			t.Fatalf("record %d seen %d times", i, seen[i])
		}
	}
	if uint64(missing) != st.Lost || uint64(len(seen)) != st.Written {
		t.Fatalf("%d missing, %d present; stats %+v", missing, len(seen), st)
	}
}

// TestWriterUndoesShortWrites: the synchronous writer on a regular file
// (stdout redirected to a file) removes the torn start of a failed write.
func TestWriterUndoesShortWrites(t *testing.T) {
	dir := tinyFS(t, 64<<10)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 32<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var report bytes.Buffer
	d := NewWriter(out, Options{Report: &report})
	const count = 1000
	Pump(To(d), strings.NewReader(numbered(0, count, 90)), 1, LevelInfo)
	st := d.Stats()
	if st.Lost == 0 {
		t.Fatalf("nothing lost on a 64 KiB file system: %+v", st)
	}
	os.Remove(filler)
	Pump(To(d), strings.NewReader(numbered(count, 10, 90)), 1, LevelInfo)
	episodes := strings.Count(report.String(), "works again;")
	checkAfterLoss(t, out.Name(), count+10, d.Stats(), episodes)
}
