#ifndef CURLASIO_TEST_INTEGRATION_PROBE_HPP
#define CURLASIO_TEST_INTEGRATION_PROBE_HPP

// Completion probes and polling helpers shared by the cancellation and
// lifetime tests.

#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <utility>

namespace curlasio::test {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

inline long long ms_between(steady::time_point from, steady::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// One fetch's completion as the test saw it.
struct probe {
    int calls = 0;
    error_code ec;
    response res;
    steady::time_point at{};
};

// Beast-style test handler: records into a probe and fails the test if the
// library destroys it without calling it. Move-only, so the library cannot
// copy it; a moved-from handler owes nothing.
class probe_handler {
public:
    explicit probe_handler(probe& p) noexcept : p_(&p) {}
    probe_handler(probe_handler&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
    probe_handler& operator=(probe_handler&&) = delete;
    ~probe_handler() {
        if (p_)
            BOOST_ERROR("a fetch handler was destroyed without being called");
    }

    void operator()(error_code ec, response r) {
        if (!p_) {
            BOOST_ERROR("a moved-from or already called fetch handler was called");
            return;
        }
        probe& p = *std::exchange(p_, nullptr);
        ++p.calls;
        p.ec = ec;
        p.res = std::move(r);
        p.at = steady::now();
    }

private:
    probe* p_;
};

// Runs `io` until `pred` holds, it runs out of work, or `limit` passes: the
// per-test guard against hangs.
template <typename Pred>
bool run_until(asio::io_context& io, Pred pred, steady::duration limit = std::chrono::seconds(20)) {
    const auto deadline = steady::now() + limit;
    io.restart();
    while (!pred()) {
        if (io.run_one_until(deadline) == 0 && (io.stopped() || steady::now() >= deadline))
            return pred();
    }
    return true;
}

// Client-side sockets of this process connected to 127.0.0.1:port. Unlike
// the server's count it drops the moment libcurl closes its connection.
// Sockets, not fds: the engine waits on a duplicate of each of libcurl's.
inline std::size_t connections_to(unsigned short port) {
    std::set<ino_t> sockets;
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir)
        return 0;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.')
            continue;
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        const int fd = std::atoi(e->d_name);
        struct stat st {};
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
            peer.ss_family == AF_INET &&
            ntohs(reinterpret_cast<const sockaddr_in&>(peer).sin_port) == port &&
            ::fstat(fd, &st) == 0)
            sockets.insert(st.st_ino);
    }
    ::closedir(dir);
    return sockets.size();
}

} // namespace curlasio::test

#endif
