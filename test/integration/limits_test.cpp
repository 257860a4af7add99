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

// ---- response heads ----------------------------------------------------------------------

// libcurl keeps the header line being received in a buffer of
// CURL_MAX_HTTP_HEADER (100 KiB) that also holds a NUL; a longer line fails
// in 7.88 as CURLE_OUT_OF_MEMORY, whatever max_header_size says.
BOOST_AUTO_TEST_CASE(a_header_line_over_libcurls_limit_is_headers_too_large) {
    constexpr std::size_t longest = 100 * 1024 - 1; // CRLF included
    for (std::size_t cap : {request{}.max_header_size, std::size_t{0}}) {
        BOOST_TEST_CONTEXT("max_header_size " << cap) {
            auto fits = fetch("/long-header/" + std::to_string(longest), cap);
            BOOST_TEST(!fits.ec, fits.ec.message() << ": " << fits.res.error_message);
            BOOST_TEST(fits.res.headers.find("X-Long").value_or("").size() == longest - 10);
            BOOST_TEST(fits.res.body == "ok");

            auto over = fetch("/long-header/" + std::to_string(longest + 1), cap);
            BOOST_TEST(over.ec == make_error_code(errc::headers_too_large),
                       over.ec.message() << ": " << over.res.error_message);
            BOOST_TEST(over.ec != boost::system::errc::not_enough_memory);
            BOOST_TEST(over.res.error_message.find("102399") != std::string::npos,
                       over.res.error_message);
            BOOST_TEST(over.res.status == 200); // the status line had arrived
        }
    }
    // A plain fetch afterwards is not affected.
    BOOST_TEST(!fetch("/hello").ec);
}

// libcurl adds up every head of a transfer (status lines, fields, blank
// lines) and fails past MAX_HTTP_RESP_HEADER_SIZE, 300 KiB; in 7.88 as
// CURLE_RECV_ERROR. A max_header_size above it changes nothing.
BOOST_AUTO_TEST_CASE(response_heads_over_libcurls_limit_are_headers_too_large_whatever_the_cap) {
    constexpr std::size_t most = 300 * 1024;
    for (std::size_t cap : {std::size_t{0}, std::size_t{8} << 20}) {
        BOOST_TEST_CONTEXT("max_header_size " << cap) {
            auto fits = fetch("/many-headers/" + std::to_string(most), cap);
            BOOST_TEST(!fits.ec, fits.ec.message() << ": " << fits.res.error_message);
            BOOST_TEST(fits.res.body == "ok");

            auto over = fetch("/many-headers/" + std::to_string(most + 1), cap);
            BOOST_TEST(over.ec == make_error_code(errc::headers_too_large),
                       over.ec.message() << ": " << over.res.error_message);
            BOOST_TEST(over.res.error_message.find("307200") != std::string::npos,
                       over.res.error_message);
        }
    }
    // Under it, the default cap is ours, counted the same way.
    const std::size_t cap = request{}.max_header_size;
    BOOST_TEST(!fetch("/many-headers/" + std::to_string(cap)).ec);
    BOOST_TEST(fetch("/many-headers/" + std::to_string(cap + 1)).ec ==
               make_error_code(errc::headers_too_large));
}

BOOST_AUTO_TEST_SUITE_END()
