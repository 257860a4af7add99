#include "detail/watchdog.hpp"

#include <algorithm>

namespace curlasio::detail {

watchdog::verdict watchdog::on_wakeup(int fd, std::uint64_t received) {
    if (fd < 0 || received != received_at_tick_)
        return verdict::rearm; // bytes arrived since the last look: progress
    if (static_cast<std::size_t>(fd) >= idle_wakeups_.size())
        idle_wakeups_.resize(static_cast<std::size_t>(fd) + 1);
    if (++idle_wakeups_[fd] <= limit_)
        return verdict::rearm;
    idle_wakeups_[fd] = 0;
    return verdict::check_sent;
}

watchdog::verdict watchdog::on_sent(int fd, std::uint64_t sent) {
    if (sent != sent_at_check_) {
        // A fast upload wakes on writes alone: that is progress too. A socket
        // that spins for nothing is caught on its next round.
        sent_at_check_ = sent;
        return verdict::rearm;
    }
    suspended_.push_back(fd);
    return verdict::suspend;
}

watchdog::tick_decision watchdog::on_tick(std::uint64_t received, bool stalled) {
    tick_decision d;
    d.resume.swap(suspended_);
    std::fill(idle_wakeups_.begin(), idle_wakeups_.end(), 0);
    received_at_tick_ = received;
    d.kick = stalled;
    return d;
}

bool watchdog::suspended(int fd) const noexcept {
    return std::find(suspended_.begin(), suspended_.end(), fd) != suspended_.end();
}

} // namespace curlasio::detail
