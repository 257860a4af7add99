#ifndef CURLASIO_SRC_DETAIL_WATCHDOG_HPP
#define CURLASIO_SRC_DETAIL_WATCHDOG_HPP

// Sans-io decisions of the engine's stall watchdog (engine_options::
// watchdog_interval). Told what happened (a socket woke the engine, the
// interval passed), it answers what to do (re-arm, suspend, resume these,
// drive everything once); the engine only executes. No timer, no socket:
// unit tests script the sequences.
//
// Two faults it repairs, both of which "cannot happen" and would otherwise
// hang or spin silently:
// - busy: a socket keeps waking the engine while no byte moves either way.
//   Its waits are suspended until the next tick. Bytes received are counted
//   by the engine on every callback; bytes sent (libcurl's count, a walk over
//   the transfers) are asked for only once per `busy_wakeup_limit` idle
//   wake-ups of one socket.
// - stalled: transfers are running but nothing can wake the engine (no wait,
//   no timer). Every transfer is driven once (a kick).

#include <cstdint>
#include <vector>

namespace curlasio::detail {

class watchdog {
public:
    explicit watchdog(std::uint32_t busy_wakeup_limit) noexcept : limit_(busy_wakeup_limit) {}

    enum class verdict {
        rearm,      ///< arm the socket's waits again, as usual
        suspend,    ///< leave them until the next tick: the socket spins for nothing
        check_sent, ///< call on_sent() with the bytes sent so far, then obey it
    };

    /// A wait on `fd` fired and libcurl ran; `received`: bytes received by
    /// all transfers so far (a running count).
    verdict on_wakeup(int fd, std::uint64_t received);
    /// After check_sent: bytes sent by the running transfers now.
    verdict on_sent(int fd, std::uint64_t sent);

    struct tick_decision {
        std::vector<int> resume; ///< re-arm these sockets' waits (if still watched)
        bool kick = false;       ///< drive every transfer once, then re-arm all
    };
    /// The interval passed. `stalled`: transfers run, but no socket wait and
    /// no timer is armed or posted.
    tick_decision on_tick(std::uint64_t received, bool stalled);

    bool suspended(int fd) const noexcept;

private:
    std::uint32_t limit_;
    std::uint64_t received_at_tick_ = 0;
    std::uint64_t sent_at_check_ = 0;
    std::vector<std::uint32_t> idle_wakeups_; // per fd, since the last tick
    std::vector<int> suspended_;
};

} // namespace curlasio::detail

#endif
