#include "engine_impl.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace curlasio::detail {

// ---- libcurl callbacks: no exception may leave them ---------------------------------

int engine_impl::socket_callback(CURL* easy, curl_socket_t fd, int what, void* p, void*) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    try {
        // The fd may have been closed without a word to us, its number
        // perhaps reused already (the table says how to tell).
        if (const probe p = self->table_.stale_probe(fd, what); p != probe::none)
            self->execute(fd, self->table_.on_probe(fd, p, self->run_probe(fd, p)));
        // An idle HTTP/1.x connection of ours is watched for stray bytes;
        // HTTP/2's frames are libcurl's to check.
        long version = 0;
        const bool watch_idle = what == CURL_POLL_REMOVE && easy && !self->shut_down_ &&
                                curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK &&
                                version != CURL_HTTP_VERSION_2_0 && version != CURL_HTTP_VERSION_3;
        // The owner: the last transfer libcurl named with the socket.
        if (easy && (watch_idle || what != CURL_POLL_REMOVE))
            self->note_idle_owner(fd, easy);
        self->execute(fd, self->table_.on_poll(fd, what, watch_idle));
        if (self->table_.watched(fd) && !self->has_descriptor(fd)) {
            // No descriptor left for our duplicate: nothing could wake the
            // transfer up, so it fails now rather than at its deadline.
            self->execute(fd, self->table_.on_close(fd));
            self->fail_later(easy, make_error_code(errc::out_of_resources),
                             "out of file descriptors: cannot watch the socket");
        }
    } catch (...) {
        self->callback_failed_ = true;
    }
    return 0; // -1 would abort every transfer of the multi
}

int engine_impl::timer_callback(CURLM*, long timeout_ms, void* p) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    try {
        self->apply_timer(self->schedule_.on_timer(timeout_ms));
    } catch (...) {
        self->callback_failed_ = true;
    }
    return 0;
}

curl_socket_t engine_impl::open_callback(void* p, curlsocktype purpose, curl_sockaddr* a) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    int fd = CURL_SOCKET_BAD;
    try {
        fd = self->open_socket_ ? self->open_socket_(purpose, *a)
                                : ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    } catch (...) {
        fd = CURL_SOCKET_BAD;
    }
    if (fd < 0)
        return CURL_SOCKET_BAD;
    try {
        self->execute(fd, self->table_.on_open(fd));
    } catch (...) {
        ::close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

int engine_impl::close_callback(void* p, curl_socket_t fd) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    try {
        // Deregister before the number can be reused.
        self->execute(fd, self->table_.on_close(fd));
    } catch (...) {
        self->callback_failed_ = true;
    }
    return ::close(fd);
}

} // namespace curlasio::detail
