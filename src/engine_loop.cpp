#include "engine_impl.hpp"

#include "cookie_lock_window.hpp"

#include <boost/asio/error.hpp>

#include <cerrno>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CURL_IGNORE_DEPRECATION // libcurl 7.87
#define CURL_IGNORE_DEPRECATION(statements) statements
#endif

namespace curlasio::detail {

namespace asio = boost::asio;

// ---- the loop --------------------------------------------------------------------

void engine_impl::socket_action(curl_socket_t fd, int events) {
    if (shut_down_)
        return;
    int running = 0;
    ++actions_;
    {
        cookie_lock_window::scope cookies;
        curl_multi_socket_action(multi_, fd, events, &running);
    }
    after_action();
}

// What every call that lets libcurl run transfers is followed by.
void engine_impl::after_action() {
    if (callback_failed_) {
        callback_failed_ = false;
        abort_all(make_error_code(CURLE_OUT_OF_MEMORY));
    }
    drain_messages();
}

void engine_impl::drain_messages() {
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &queued)) {
        if (m->msg != CURLMSG_DONE)
            continue;
        void* p = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
        auto* t = static_cast<transfer*>(p);
        CURLcode result = m->data.result; // m is invalid after remove_handle
        if (result == CURLE_HTTP2) {
            // libcurl 8.14.1 keeps a connection whose HTTP/2 session failed
            // (nghttp2's "Too many CONTINUATION frames", say) for reuse, and
            // the next request on it fails the same way (7.88 closed it).
            // Shut it down, never close it: libcurl's liveness check then
            // drops it and opens a new one. No other stream survives such a
            // failure anyway.
            curl_socket_t s = CURL_SOCKET_BAD;
            if (curl_easy_getinfo(m->easy_handle, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
                s != CURL_SOCKET_BAD)
                ::shutdown(s, SHUT_RDWR);
        }
        if (result == CURLE_OK && !t->easy.report_final_progress())
            result = CURLE_ABORTED_BY_CALLBACK; // it threw: errc::callback_threw
        finish(t, t->easy.result_error(result), result);
    }
}

void engine_impl::on_wait(int fd, wait_kind kind, std::uint64_t generation, const error_code& ec) {
    const bool aborted = ec == asio::error::operation_aborted;
    wait_outcome w = table_.on_wait_done(fd, kind, generation, aborted, ec && !aborted);
    if (shut_down_)
        return;
    if (w.idle_readable) {
        // Still in use by a paused transfer: libcurl watches it again on
        // resume. Idle for real, with bytes or an end to read: never reuse
        // it. Readiness with nothing to read is an edge left over from bytes
        // libcurl read before it let go of the socket (the reactor reports
        // edges): the connection is healthy, and watched again.
        if (may_be_in_use(fd))
            return end_stranded_upload(fd);
        if (idle_has_input(fd))
            retire_idle(fd);
        else
            execute(fd, table_.unpark_idle(fd));
        return;
    }
    if (!w.act)
        return;
    socket_action(fd, w.events);
    if (shut_down_)
        return;
    if (watchdog_) {
        watchdog::verdict v = watchdog_->on_wakeup(fd, activity_);
        if (v == watchdog::verdict::check_sent)
            v = watchdog_->on_sent(fd, bytes_sent());
        if (v == watchdog::verdict::suspend) {
            busy_suspended_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    execute(fd, table_.rearm(fd));
}

std::uint64_t engine_impl::bytes_sent() const noexcept {
    std::uint64_t sum = 0;
    for (const auto& [id, t] : transfers_) {
        curl_off_t sent = 0;
        curl_easy_getinfo(t->easy.native(), CURLINFO_SIZE_UPLOAD_T, &sent);
        sum += static_cast<std::uint64_t>(sent);
    }
    return sum;
}

bool engine_impl::idle_has_input(int fd) const noexcept {
    if (!has_descriptor(fd))
        return false;
    char c;
    const ssize_t n = ::recv(descriptors_[fd]->native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// libcurl stops reading the connection of a transfer paused on its upload
// source once it has read the peer's end (7.88 and 8.x alike), lets go of the
// socket and waits for the source alone: the fetch would hang until the
// source gave bytes, to be sent into a closed connection. The idle watch
// left on the socket sees the end instead, and the fetch fails now.
void engine_impl::end_stranded_upload(int fd) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= idle_owner_.size() || !has_descriptor(fd))
        return;
    auto it = transfers_.find(idle_owner_[fd]);
    if (it == transfers_.end() || !it->second->easy.upload_paused())
        return;
    char c;
    const ssize_t n = ::recv(descriptors_[fd]->native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return; // bytes libcurl did not ask for: it reads them when resumed
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        execute(fd, table_.unpark_idle(fd)); // an edge with nothing to read: watch on
        return;
    }
    finish(it->second, make_error_code(CURLE_SEND_ERROR), CURLE_SEND_ERROR,
           n == 0 ? "the peer closed the connection while the upload waited for its source"
                  : "the connection failed while the upload waited for its source");
}

// libcurl 7.88 takes a readable idle connection for alive unless a peek
// reads 0 (its close). Shut our duplicate down and drain what is pending:
// libcurl's check then sees the end, drops the connection and opens a new
// one. Data arriving after the shutdown resets the connection.
void engine_impl::retire_idle(int fd) {
    table_.retire_idle(fd);
    if (!has_descriptor(fd))
        return;
    const int dup = descriptors_[fd]->native_handle();
    ::shutdown(dup, SHUT_RDWR);
    char sink[16384];
    std::size_t stray = 0;
    for (int i = 0; i < 64; ++i) { // bounded: at most 1 MiB per wake-up
        const ssize_t n = ::recv(dup, sink, sizeof sink, MSG_DONTWAIT);
        if (n <= 0)
            break;
        stray += static_cast<std::size_t>(n);
    }
    if (stray)
        stray_closed_.fetch_add(1, std::memory_order_relaxed);
}

void engine_impl::execute(int fd, const socket_decision& d) {
    if (d.cancel && has_descriptor(fd)) {
        error_code ignored;
        descriptors_[fd]->cancel(ignored);
    }
    if (d.release && has_descriptor(fd))
        descriptors_[fd].reset(); // closes our duplicate, never libcurl's fd
    if (d.open) {
        if (static_cast<std::size_t>(fd) >= descriptors_.size())
            descriptors_.resize(static_cast<std::size_t>(fd) + 1);
        descriptors_[fd].reset();
        // Out of descriptors: the caller sees no descriptor and decides.
        const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0)
            return;
        try {
            descriptors_[fd] = std::make_unique<descriptor>(executor_, dup);
        } catch (...) {
            ::close(dup);
            callback_failed_ = true;
            return;
        }
    }
    if (d.arm_read)
        arm(fd, wait_kind::read, d.generation);
    if (d.arm_write)
        arm(fd, wait_kind::write, d.generation);
}

void engine_impl::arm(int fd, wait_kind kind, std::uint64_t generation) {
    descriptor* desc = descriptors_[fd].get();
    if (!desc)
        return;
    desc->async_wait(kind == wait_kind::read ? descriptor::wait_read : descriptor::wait_write,
                     [self = shared_from_this(), fd, kind, generation](const error_code& ec) {
                         busy_scope busy(*self);
                         self->on_wait(fd, kind, generation, ec);
                     });
}

void engine_impl::apply_timer(const timer_decision& d) {
    if (!timer_)
        return; // the context has shut down
    if (d.cancel)
        timer_->cancel();
    if (d.arm) {
        timer_->expires_after(std::chrono::milliseconds(d.milliseconds));
        timer_->async_wait([self = shared_from_this(), g = d.generation](const error_code& ec) {
            busy_scope busy(*self);
            if (self->schedule_.on_fired(g, ec == asio::error::operation_aborted))
                self->socket_action(CURL_SOCKET_TIMEOUT, 0);
        });
    }
    if (d.post)
        post_busy([g = d.generation](engine_impl& e) {
            if (e.schedule_.on_fired(g, false))
                e.socket_action(CURL_SOCKET_TIMEOUT, 0);
        });
}

// ---- the watchdog ---------------------------------------------------------------------

void engine_impl::start_watchdog() {
    if (!watchdog_ || watchdog_armed_ || shut_down_)
        return;
    watchdog_armed_ = true;
    watchdog_timer_->expires_after(watchdog_interval_);
    watchdog_timer_->async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec == asio::error::operation_aborted)
            return; // cancelled: whoever cancelled cleared watchdog_armed_
        busy_scope busy(*self);
        self->watchdog_armed_ = false;
        if (self->shut_down_)
            return;
        try {
            self->watchdog_tick();
        } catch (...) {
            // out of memory listing fds: look again next time
        }
        if (!self->transfers_.empty())
            self->start_watchdog();
    });
}

// Nothing to watch, and a pending wait would keep run() from returning: the
// watchdog stops, and the idle connections' waits go, once the engine has
// stayed idle for `turns` turns of the executor. A completion handler that
// starts the next fetch (the usual loop) keeps both armed, where a cancel and
// re-arm per fetch would cost syscalls.
void engine_impl::go_idle_soon(int turns) {
    post_busy([turns](engine_impl& e) {
        if (!e.transfers_.empty() || e.shut_down_)
            return;
        if (turns > 1)
            return e.go_idle_soon(turns - 1);
        if (e.watchdog_armed_) {
            e.watchdog_timer_->cancel();
            e.watchdog_armed_ = false;
        }
        if (!e.idle_parked_) {
            e.idle_parked_ = true;
            for (int fd : e.table_.idle_fds())
                e.execute(fd, e.table_.park_idle(fd));
        }
    });
}

// The first transfer after a pause: what arrived on an idle connection while
// nothing watched it is found with one poll(), and the others are watched
// again.
void engine_impl::unpark_idle_connections() {
    idle_parked_ = false;
    std::vector<int> idle;
    std::vector<pollfd> fds;
    for (int fd : table_.idle_fds())
        if (has_descriptor(fd)) {
            idle.push_back(fd);
            fds.push_back({descriptors_[fd]->native_handle(), POLLIN, 0});
        }
    if (fds.empty())
        return;
    ::poll(fds.data(), fds.size(), 0);
    for (std::size_t i = 0; i < idle.size(); ++i) {
        // As in on_wait: a paused transfer's connection is not idle.
        if (fds[i].revents && !may_be_in_use(idle[i]))
            retire_idle(idle[i]);
        else
            execute(idle[i], table_.unpark_idle(idle[i]));
    }
}

void engine_impl::watchdog_tick() {
    // A transfer its sink paused waits for its reader, not for libcurl.
    bool any_unpaused = false;
    for (const auto& [id, t] : transfers_)
        any_unpaused = any_unpaused || !t->easy.paused();
    const bool stalled = any_unpaused && !schedule_.armed() && !schedule_.posted() && !any_wait_armed();
    const watchdog::tick_decision d = watchdog_->on_tick(activity_, stalled);
    for (int fd : d.resume)
        if (table_.watched(fd))
            execute(fd, table_.rearm(fd));
    if (!d.kick)
        return;
    // Transfers are running but nothing can wake the engine up again. Drive
    // every transfer once and have libcurl re-announce its sockets (what
    // curl_multi_socket_all does, deprecated only as a hot-loop primitive),
    // then arm whatever the table wants but lacks.
    stalls_kicked_.fetch_add(1, std::memory_order_relaxed);
    int running = 0;
    ++actions_;
    CURL_IGNORE_DEPRECATION(curl_multi_socket_all(multi_, &running);)
    after_action();
    if (shut_down_)
        return;
    for (int fd : table_.watched_fds())
        execute(fd, table_.rearm(fd));
}

bool engine_impl::any_wait_armed() const {
    for (int fd : table_.watched_fds())
        if (table_.armed(fd, wait_kind::read) || table_.armed(fd, wait_kind::write))
            return true;
    return false;
}

void engine_impl::note_idle_owner(int fd, CURL* easy) noexcept {
    void* p = nullptr;
    if (fd < 0 || curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p) != CURLE_OK || !p)
        return;
    try {
        if (static_cast<std::size_t>(fd) >= idle_owner_.size())
            idle_owner_.resize(static_cast<std::size_t>(fd) + 1);
        idle_owner_[fd] = static_cast<transfer*>(p)->id;
    } catch (...) {
        // No room to remember it: the connection counts as idle.
    }
}

bool engine_impl::may_be_in_use(int fd) const noexcept {
    if (fd >= 0 && static_cast<std::size_t>(fd) < idle_owner_.size() &&
        transfers_.count(idle_owner_[fd]) != 0)
        return true;
    // libcurl does not always name the transfer that holds a socket it let
    // go of: one that reuses a connection can read its answer and pause
    // without a socket callback at all. So while any transfer is paused, an
    // idle connection may be its own: not retired, just left unwatched
    // (libcurl watches it again on resume; a truly idle one is checked by
    // the poll at the next start after the engine went idle, and by
    // libcurl's own check when it is reused).
    for (const auto& [id, t] : transfers_)
        if (t->easy.paused())
            return true;
    return false;
}

bool engine_impl::has_descriptor(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < descriptors_.size() && descriptors_[fd];
}

bool engine_impl::run_probe(int fd, probe p) const noexcept {
    if (!has_descriptor(fd))
        return false;
    const int dup = descriptors_[fd]->native_handle();
    if (p == probe::connected) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        return ::getpeername(dup, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
    }
    // Same open file: libcurl's number still refers to what we duplicated.
    struct stat a {
    }, b{};
    return ::fstat(fd, &a) == 0 && ::fstat(dup, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void engine_impl::debug_lose_wakeups() {
    busy_scope busy(*this);
    for (int fd : table_.watched_fds())
        if (auto& desc = descriptors_[fd]) {
            error_code ignored;
            desc->cancel(ignored);
        }
    if (timer_)
        timer_->cancel();
}

void engine_impl::debug_watch(int fd, int what) {
    busy_scope busy(*this);
    socket_callback(nullptr, fd, what, this, nullptr);
}

} // namespace curlasio::detail
