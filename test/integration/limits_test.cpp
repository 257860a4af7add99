// Where curlasio's documented limits meet libcurl 7.88's own: the size cap
// at its extremes, response heads (one line, all heads of a transfer) and
// request heads, each ending in a curlasio error that says which limit it was.

#include "common.hpp"

#include <support/test_server.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;

namespace {

struct fixture {
    test_server server;
    asio::io_context io;
    engine eng{io};

    outcome fetch(const std::string& path, std::size_t max_header_size = request{}.max_header_size) {
        request req(server.url(path));
        req.max_header_size = max_header_size;
        return fetch_sync(io, eng, std::move(req));
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(limits, fixture)

// ---- the body cap ----------------------------------------------------------------------

// SIZE_MAX is the natural "no cap"; libcurl's CURLOPT_MAXFILESIZE_LARGE
// takes a signed curl_off_t, which it does not fit.
BOOST_AUTO_TEST_CASE(a_size_cap_beyond_curl_off_t_means_no_libcurl_cap) {
    constexpr auto off_t_max = static_cast<std::size_t>(std::numeric_limits<curl_off_t>::max());
    for (std::size_t cap : {std::numeric_limits<std::size_t>::max(), off_t_max + 1, off_t_max}) {
        BOOST_TEST_CONTEXT("max_response_size " << cap) {
            request req(server.url("/bytes/100000"));
            req.max_response_size = cap;
            auto out = fetch_sync(io, eng, req);
            BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
            BOOST_TEST((out.res.body == pattern(100000)));
        }
    }
    // Our own count still applies: one byte short of the body.
    request capped(server.url("/chunked/100000"));
    capped.max_response_size = 99999;
    BOOST_TEST(fetch_sync(io, eng, capped).ec == make_error_code(errc::response_too_large));
}

BOOST_AUTO_TEST_SUITE_END()
