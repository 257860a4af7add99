#ifndef CURLASIO_DETAIL_TIMER_SCHEDULE_HPP
#define CURLASIO_DETAIL_TIMER_SCHEDULE_HPP

// Sans-io decisions for CURLMOPT_TIMERFUNCTION. libcurl asks for one timer:
// -1 deletes it, 0 means "as soon as possible" (post, never recurse into
// libcurl from its own callback), a positive value arms it. Every request
// gets a generation; an expiry or post carrying an older one is stale.

#include <cstdint>

namespace curlasio::detail {

struct timer_decision {
    bool cancel = false; ///< cancel the armed steady_timer wait
    bool arm = false;    ///< expires_after(milliseconds) and wait
    bool post = false;   ///< post a timeout action now
    long milliseconds = 0;
    std::uint64_t generation = 0;
};

class timer_schedule {
public:
    timer_decision on_timer(long timeout_ms) noexcept {
        timer_decision d;
        if (timeout_ms == 0 && posted_ && !armed_)
            return d; // one post already pending serves a whole storm of 0 ms
        d.cancel = armed_;
        armed_ = posted_ = false;
        d.generation = ++generation_;
        if (timeout_ms == 0) {
            d.post = posted_ = true;
        } else if (timeout_ms > 0) {
            d.arm = armed_ = true;
            d.milliseconds = timeout_ms;
        }
        return d;
    }

    /// The expiry or post tagged `generation` ran; true: call
    /// curl_multi_socket_action(CURL_SOCKET_TIMEOUT).
    bool on_fired(std::uint64_t generation, bool aborted) noexcept {
        if (generation != generation_)
            return false;
        armed_ = posted_ = false;
        return !aborted;
    }

    /// Forget everything (engine shutdown); later firings are stale.
    timer_decision reset() noexcept { return on_timer(-1); }

    bool armed() const noexcept { return armed_; }
    bool posted() const noexcept { return posted_; }
    std::uint64_t generation() const noexcept { return generation_; }

private:
    std::uint64_t generation_ = 0;
    bool armed_ = false;
    bool posted_ = false;
};

} // namespace curlasio::detail

#endif
