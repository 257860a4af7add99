#ifndef CURLASIO_TEST_TOOLKIT_PROBE_HPP
#define CURLASIO_TEST_TOOLKIT_PROBE_HPP

// A fetch's completion as the test saw it, and the handler that records it.

#include <curlasio/curlasio.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <utility>

namespace curlasio::test {

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

} // namespace curlasio::test

#endif
