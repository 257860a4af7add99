#ifndef CURLASIO_TEST_INTEGRATION_COMMON_HPP
#define CURLASIO_TEST_INTEGRATION_COMMON_HPP

// Small helpers shared by the integration tests.

#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace curlasio::test {

/// The bytes of the test server's /bytes/<n> route: byte i is 'a' + i % 26.
inline std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

/// A /delay route the test server answers an hour after reading the request,
/// far beyond any wait of any test (the longest, under TSan, is 10 min). A
/// fetch of it that completed while a test ran completed before its response
/// was sent: the ordering that "completed within N ms" only approximated,
/// with no clock in the assertion.
inline constexpr std::string_view never_answered = "/delay/3600000";

/// Percent-encodes everything but letters, digits and "/.-", for a URL
/// carried in a query parameter (/redirect-to?url=, /raw?bytes=).
inline std::string encode(const std::string& s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '/' || c == '.' || c == '-') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xF];
        }
    }
    return out;
}

struct outcome {
    error_code ec;
    response res;
    int calls = 0;
};

/// Runs one fetch to completion on `io` (which must not be running
/// elsewhere) and checks that the handler ran exactly once.
inline outcome fetch_sync(boost::asio::io_context& io, engine& eng, request req) {
    outcome out;
    async_fetch(eng, std::move(req), [&](error_code ec, response r) {
        out.ec = ec;
        out.res = std::move(r);
        ++out.calls;
    });
    io.restart();
    io.run_for(std::chrono::seconds(60));
    BOOST_TEST_REQUIRE(out.calls == 1);
    return out;
}

/// Polls `pred` for up to `limit` (the server's thread closes its ends of
/// connections asynchronously).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

} // namespace curlasio::test

#endif
