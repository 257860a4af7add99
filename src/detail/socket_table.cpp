#include "detail/socket_table.hpp"

#include <curl/curl.h>

#include <utility>

namespace curlasio::detail {

namespace {
constexpr std::uint8_t bit(wait_kind k) noexcept {
    return k == wait_kind::read ? CURL_POLL_IN : CURL_POLL_OUT;
}
constexpr int index(wait_kind k) noexcept { return static_cast<int>(k); }
} // namespace

socket_table::entry* socket_table::live(int fd) noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size())
        return nullptr;
    entry& e = entries_[fd];
    return e.generation ? &e : nullptr;
}

const socket_table::entry* socket_table::live(int fd) const noexcept {
    return const_cast<socket_table*>(this)->live(fd);
}

socket_table::entry& socket_table::slot(int fd) {
    if (static_cast<std::size_t>(fd) >= entries_.size())
        entries_.resize(static_cast<std::size_t>(fd) + 1);
    return entries_[fd];
}

// Forgets the entry (if any) and the duplicate held for it.
socket_decision socket_table::drop(entry& e) {
    socket_decision d;
    d.release = e.held;
    d.generation = e.generation;
    if (e.generation)
        --watched_;
    e = entry{};
    return d;
}

void socket_table::arm_missing(entry& e, socket_decision& d) {
    for (wait_kind k : {wait_kind::read, wait_kind::write}) {
        int i = index(k);
        if ((e.wanted & bit(k)) && !e.armed[i] && !e.failed[i]) {
            e.armed[i] = true;
            (k == wait_kind::read ? d.arm_read : d.arm_write) = true;
        }
    }
    d.generation = e.generation;
}

socket_decision socket_table::on_poll(int fd, int what, bool watch_idle) {
    if (fd < 0)
        return {};
    if (what == CURL_POLL_REMOVE) {
        entry* e = live(fd);
        if (!e)
            return {};
        if (!e->ours)
            return drop(*e); // we will not hear of its close: let go of it now
        socket_decision d;
        d.generation = e->generation;
        const bool read_armed = e->armed[index(wait_kind::read)];
        const bool write_armed = e->armed[index(wait_kind::write)];
        *e = entry{.ours = true, .held = true, .watch_idle = watch_idle};
        --watched_;
        if (!watch_idle) {
            d.cancel = true;
        } else if (write_armed) {
            // Cancelling takes the read wait too: a fresh one, with a fresh
            // generation, so that a completion already queued is not taken
            // for the idle one.
            d.cancel = true;
            d.arm_read = true;
            d.generation = e->idle_generation = next_generation_++;
        } else {
            // No read wait, or exactly one (tagged d.generation), which goes
            // on as the idle wait.
            d.arm_read = !read_armed;
            e->idle_generation = d.generation;
        }
        return d;
    }
    entry& e = slot(fd);
    socket_decision d;
    if (!e.generation) {
        if (e.idle_generation) {
            // The idle wait goes on as this entry's read wait.
            e.generation = std::exchange(e.idle_generation, 0);
            e.armed[index(wait_kind::read)] = true;
        } else {
            e.generation = next_generation_++;
        }
        e.watch_idle = false;
        ++watched_;
        d.open = !e.held; // a socket of ours is kept between its requests
        e.held = true;
    }
    e.wanted = static_cast<std::uint8_t>(what & (CURL_POLL_IN | CURL_POLL_OUT));
    arm_missing(e, d);
    return d;
}

socket_decision socket_table::park_idle(int fd) {
    socket_decision d;
    if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size())
        return d;
    entry& e = entries_[fd];
    if (e.generation || !e.idle_generation)
        return d;
    d.cancel = true;
    d.generation = std::exchange(e.idle_generation, 0);
    return d;
}

void socket_table::retire_idle(int fd) noexcept {
    if (fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() && !entries_[fd].generation) {
        entries_[fd].watch_idle = false;
        entries_[fd].idle_generation = 0;
    }
}

socket_decision socket_table::unpark_idle(int fd) {
    socket_decision d;
    if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size())
        return d;
    entry& e = entries_[fd];
    if (e.generation || e.idle_generation || !e.watch_idle)
        return d;
    d.arm_read = true;
    d.generation = e.idle_generation = next_generation_++;
    return d;
}

probe socket_table::stale_probe(int fd, int what) const noexcept {
    if (opened_by_us(fd))
        return what == CURL_POLL_REMOVE && held(fd) ? probe::connected : probe::none;
    return what != CURL_POLL_REMOVE && watched(fd) ? probe::same_file : probe::none;
}

socket_decision socket_table::on_probe(int fd, probe p, bool holds) {
    if (p == probe::none || holds)
        return {};
    return on_close(fd);
}

socket_decision socket_table::on_open(int fd) {
    if (fd < 0)
        return {};
    // Anything still held for this number belonged to an fd that was closed
    // behind our back.
    entry& e = slot(fd);
    socket_decision d = drop(e);
    e.ours = true;
    return d;
}

socket_decision socket_table::on_close(int fd) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size())
        return {};
    return drop(entries_[fd]);
}

wait_outcome socket_table::on_wait_done(int fd, wait_kind kind, std::uint64_t generation, bool aborted,
                                        bool failed) {
    entry* e = live(fd);
    if (!e) {
        // The wait of an idle connection? (Cancelled ones are not news.)
        if (kind != wait_kind::read || fd < 0 || static_cast<std::size_t>(fd) >= entries_.size())
            return {};
        entry& idle = entries_[fd];
        if (!idle.idle_generation || idle.idle_generation != generation)
            return {};
        idle.idle_generation = 0;
        return {.idle_readable = !aborted};
    }
    if (e->generation != generation)
        return {};
    int i = index(kind);
    e->armed[i] = false;
    if (aborted)
        return {};
    if (!(e->wanted & bit(kind)))
        return {};
    if (failed)
        e->failed[i] = true; // reported once; do not spin on a wait that keeps failing
    int events = kind == wait_kind::read ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
    if (failed)
        events |= CURL_CSELECT_ERR;
    return {true, events};
}

socket_decision socket_table::rearm(int fd) {
    socket_decision d;
    if (entry* e = live(fd))
        arm_missing(*e, d);
    return d;
}

bool socket_table::armed(int fd, wait_kind kind) const noexcept {
    const entry* e = live(fd);
    return e && e->armed[index(kind)];
}

int socket_table::wanted(int fd) const noexcept {
    const entry* e = live(fd);
    return e ? e->wanted : 0;
}

std::uint64_t socket_table::generation(int fd) const noexcept {
    const entry* e = live(fd);
    return e ? e->generation : 0;
}

bool socket_table::opened_by_us(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() && entries_[fd].ours;
}

bool socket_table::held(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() && entries_[fd].held;
}

std::vector<int> socket_table::held_fds() const {
    std::vector<int> out;
    for (std::size_t fd = 0; fd < entries_.size(); ++fd)
        if (entries_[fd].held)
            out.push_back(static_cast<int>(fd));
    return out;
}

std::vector<int> socket_table::idle_fds() const {
    std::vector<int> out;
    for (std::size_t fd = 0; fd < entries_.size(); ++fd)
        if (entries_[fd].watch_idle && !entries_[fd].generation)
            out.push_back(static_cast<int>(fd));
    return out;
}

bool socket_table::idle_watched(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() && !entries_[fd].generation &&
           entries_[fd].idle_generation != 0;
}

std::vector<int> socket_table::watched_fds() const {
    std::vector<int> out;
    for (std::size_t fd = 0; fd < entries_.size(); ++fd)
        if (entries_[fd].generation)
            out.push_back(static_cast<int>(fd));
    return out;
}

} // namespace curlasio::detail
