#ifndef CURLASIO_DETAIL_SOCKET_TABLE_HPP
#define CURLASIO_DETAIL_SOCKET_TABLE_HPP

// Sans-io bookkeeping for the sockets libcurl asks the engine to watch.
//
// The table is told what happened (a CURLMOPT_SOCKETFUNCTION call, an fd
// opened or about to be closed by libcurl, a wait that completed) and answers
// with what the engine must do (wrap the fd, release it, arm a read or write
// wait, call curl_multi_socket_action). It owns no socket, so every sequence
// of events can be scripted in a unit test.
//
// Staleness: every entry gets a generation number when it is created. Waits
// are tagged with it; a completion whose generation does not match the live
// entry for its fd (the fd was removed, closed, or removed and re-added in the
// meantime) is dropped.
//
// Ownership: the engine never registers libcurl's fd number with the reactor.
// It waits on a duplicate it owns, so that whatever libcurl does with its
// number (close it without telling us, as it does with its resolver's
// socketpair and, before 8.2.0, with a socket cancelled before it connected,
// curl #11439), the engine's syscalls only ever touch numbers it owns.

#include <cstdint>
#include <vector>

namespace curlasio::detail {

enum class wait_kind : std::uint8_t { read = 0, write = 1 };

/// What the engine must do for one fd, in this order: cancel the waits or
/// close the old duplicate, duplicate the fd and wrap the duplicate, arm the
/// waits (tagged `generation`).
struct socket_decision {
    /// Cancel the descriptor's waits but keep it: libcurl stopped watching a
    /// socket it opened through our callback, and will most likely watch it
    /// again (a kept-alive connection). Re-registering it with the reactor
    /// for every request would cost syscalls; it is closed with the socket.
    bool cancel = false;
    /// Close the engine's duplicate of the fd (and so deregister it).
    bool release = false;
    /// Duplicate the fd and wrap the duplicate in a descriptor.
    bool open = false;
    bool arm_read = false;
    bool arm_write = false;
    std::uint64_t generation = 0;

    bool any() const noexcept { return cancel || release || open || arm_read || arm_write; }
};

/// Outcome of a completed wait.
struct wait_outcome {
    /// Call curl_multi_socket_action(fd, events).
    bool act = false;
    /// CURL_CSELECT_IN / _OUT, with CURL_CSELECT_ERR added on a wait error.
    int events = 0;
    /// An idle connection (kept by libcurl for reuse, no transfer on it)
    /// became readable: bytes nobody asked for, or the peer's close. It must
    /// never carry another request (see socket_table::on_poll).
    bool idle_readable = false;
};

/// A check of the engine's duplicate that tells whether an entry is stale:
/// libcurl closed the fd without a word to us (see socket_table::stale_probe).
enum class probe : std::uint8_t {
    none,      ///< nothing to check
    connected, ///< is our duplicate still a connected socket?
    same_file, ///< is libcurl's fd still the file our duplicate refers to?
};

class socket_table {
public:
    /// Before on_poll(fd, what): which probe decides whether the entry for
    /// `fd` is stale. A socket libcurl opened itself (its resolver's
    /// socketpair) may be closed without a word at any time; libcurl passing
    /// the number now vouches for it being live, so it can be compared with
    /// our duplicate. A socket of ours, before libcurl 8.2.0, when it was
    /// dropped before it connected (curl #11439): libcurl then only says
    /// REMOVE, after the close. Its number may belong to another thread by
    /// then, so only our own duplicate is looked at: a REMOVE of a socket
    /// that is not connected means libcurl is done with it either way.
    probe stale_probe(int fd, int what) const noexcept;
    /// The probe's answer (`holds`: connected, or the same file). A stale
    /// entry is forgotten as if closed.
    socket_decision on_probe(int fd, probe p, bool holds);

    /// CURLMOPT_SOCKETFUNCTION(fd, what), what being CURL_POLL_*.
    ///
    /// `watch_idle`, for a REMOVE of a socket of ours: libcurl keeps the
    /// connection for reuse, and the table keeps a read wait on it while it
    /// is idle. libcurl 7.88 reuses a connection with unread bytes pending
    /// (its liveness check only notices a close), so bytes a server sends
    /// after a complete HTTP/1.x response would become the next request's
    /// answer. The wait completing while the connection is still idle is
    /// wait_outcome::idle_readable. When libcurl watches the socket again,
    /// that wait goes on as its read wait (no re-arm, no extra syscall).
    /// Not for HTTP/2, whose frames libcurl reads and checks itself.
    socket_decision on_poll(int fd, int what, bool watch_idle = false);

    /// The engine has no transfer left: the idle waits must go, or they
    /// would keep the executor's run() from returning. Cancels them.
    socket_decision park_idle(int fd);
    /// A transfer starts after park_idle: watch the idle connection again.
    socket_decision unpark_idle(int fd);
    /// The idle connection was found readable and made unusable: it is not
    /// watched again (libcurl closes it when it next looks).
    void retire_idle(int fd) noexcept;

    /// CURLOPT_OPENSOCKETFUNCTION produced `fd`. An entry still present for
    /// that number belonged to an fd libcurl closed without telling us.
    /// Nothing is duplicated before libcurl asks to watch the fd: a socket
    /// closed unpublished, without the close callback (curl #11439), then
    /// leaves nothing behind.
    socket_decision on_open(int fd);

    /// CURLOPT_CLOSESOCKETFUNCTION is about to close `fd`.
    socket_decision on_close(int fd);

    /// A wait tagged `generation` completed. `aborted`: it was cancelled;
    /// `failed`: it completed with an error other than cancellation.
    wait_outcome on_wait_done(int fd, wait_kind kind, std::uint64_t generation, bool aborted, bool failed);

    /// After curl_multi_socket_action: the waits to re-arm (libcurl only
    /// calls the socket callback when its wishes change).
    socket_decision rearm(int fd);

    // ---- observers, for the engine's invariants and for tests ----------------
    bool watched(int fd) const noexcept { return live(fd) != nullptr; }
    bool armed(int fd, wait_kind kind) const noexcept;
    /// CURL_POLL_IN/OUT bits libcurl asked for on `fd`; 0 when not watched.
    int wanted(int fd) const noexcept;
    std::uint64_t generation(int fd) const noexcept;
    bool opened_by_us(int fd) const noexcept;
    /// True while the engine holds a duplicate of `fd`: while it is watched,
    /// and for a socket of ours also between a REMOVE and its close.
    bool held(int fd) const noexcept;
    /// Number of watched fds.
    std::size_t size() const noexcept { return watched_; }
    /// Every fd currently watched.
    std::vector<int> watched_fds() const;
    /// Every fd the engine holds a descriptor for, for a final release.
    std::vector<int> held_fds() const;
    /// Idle connections of ours to watch (REMOVEd with watch_idle, not yet
    /// watched by libcurl again), and whether one has its idle wait armed.
    std::vector<int> idle_fds() const;
    bool idle_watched(int fd) const noexcept;

private:
    struct entry {
        std::uint64_t generation = 0; // 0: no entry
        std::uint8_t wanted = 0;      // CURL_POLL_IN | CURL_POLL_OUT bits
        bool armed[2] = {false, false};
        bool failed[2] = {false, false};
        bool ours = false;                 // opened by our open callback, not yet closed
        bool held = false;                 // the engine holds a descriptor for it
        bool watch_idle = false;           // idle (REMOVEd) and to be watched while so
        std::uint64_t idle_generation = 0; // the read wait armed while idle, 0: none
    };

    entry* live(int fd) noexcept;
    const entry* live(int fd) const noexcept;
    entry& slot(int fd);
    socket_decision drop(entry& e);
    void arm_missing(entry& e, socket_decision& d);

    std::vector<entry> entries_; // indexed by fd
    std::uint64_t next_generation_ = 1;
    std::size_t watched_ = 0;
};

} // namespace curlasio::detail

#endif
