#ifndef CURLASIO_SRC_COOKIE_LOCK_WINDOW_HPP
#define CURLASIO_SRC_COOKIE_LOCK_WINDOW_HPP

// libcurl 8.12.0 to 8.14.1 at least (http.c http_cookies, since curl commit
// be39ed19; curl #16838, #17774) picks the cookies a request sends under the
// share's cookie lock, as a list linked through a node inside each shared
// cookie, then releases the lock and only afterwards walks the list to
// write the Cookie field and unlinks it. A transfer on another thread that
// picks cookies (relinking the same nodes), sets one or drops one meanwhile
// corrupts the list or frees what it points to: the crash of a jar shared
// by engines on two threads. (7.88 copied the cookies under the lock.)
//
// So on an affected libcurl, a thread inside an engine's libcurl call keeps
// a jar's cookie lock past libcurl's unlock, and lets it go at the first
// thing it does next: take any share lock, enter one of our callbacks from
// libcurl, or return from libcurl. Between the unlock and the end of that
// walk libcurl only builds strings, so the walk is covered; and a thread
// never waits on a lock while it keeps one, so no new lock order appears.

#include <curl/curl.h>

#include <mutex>
#include <utility>

namespace curlasio::detail::cookie_lock_window {

inline bool needed() noexcept {
    static const bool affected = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080c00;
    return affected;
}

struct thread_state {
    std::mutex* kept = nullptr; // a jar's cookie lock, released by libcurl, still held
    bool in_libcurl = false;    // inside an engine's call that runs transfers
};
inline thread_local thread_state current;

// Lets the kept lock go, if any.
inline void close() noexcept {
    if (std::mutex* m = std::exchange(current.kept, nullptr))
        m->unlock();
}

// Around an engine's curl_multi_socket_action.
class scope {
public:
    scope() noexcept : outer_(!current.in_libcurl) { current.in_libcurl = true; }
    ~scope() {
        if (outer_) {
            current.in_libcurl = false;
            close();
        }
    }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

private:
    bool outer_;
};

} // namespace curlasio::detail::cookie_lock_window

#endif
