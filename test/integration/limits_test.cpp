// Where curlasio's documented limits and defaults meet libcurl 7.88's own:
// the size cap at its extremes, response heads (one line, all heads of a
// transfer) and request heads, each ending in a curlasio error that says
// which limit it was; refusals that say why; a proxy's CONNECT answer;
// HTTP/2 with prior knowledge against a real nghttpd; a cookie option that
// follows redirects.

#include <toolkit/toolkit.hpp>
#include "peer_process.hpp"

#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;

namespace {

struct fixture : curlasio::test::engine_fixture {

    outcome fetch(const std::string& path,
                  std::size_t max_header_size = request{}.options.limits.max_header_size) {
        request req(server.url(path));
        req.options.limits.max_header_size = max_header_size;
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
            req.options.limits.max_response_size = cap;
            auto out = fetch_sync(io, eng, req);
            BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
            BOOST_TEST((out.res.body == pattern(100000)));
        }
    }
    // Our own count still applies: one byte short of the body.
    request capped(server.url("/chunked/100000"));
    capped.options.limits.max_response_size = 99999;
    BOOST_TEST(fetch_sync(io, eng, capped).ec == make_error_code(errc::response_too_large));
}

// ---- response heads ----------------------------------------------------------------------

// libcurl keeps the header line being received in a buffer of
// CURL_MAX_HTTP_HEADER (100 KiB) that also holds a NUL; a longer line fails
// in 7.88 as CURLE_OUT_OF_MEMORY, from 8.6.0 on as CURLE_TOO_LARGE, whatever
// max_header_size says: errc::headers_too_large for both.
BOOST_AUTO_TEST_CASE(a_header_line_over_libcurls_limit_is_headers_too_large) {
    constexpr std::size_t longest = 100 * 1024 - 1; // CRLF included
    for (std::size_t cap : {request{}.options.limits.max_header_size, std::size_t{0}}) {
        BOOST_TEST_CONTEXT("max_header_size " << cap) {
            auto fits = fetch("/long-header/" + std::to_string(longest), cap);
            BOOST_TEST(!fits.ec, fits.ec.message() << ": " << fits.res.error_message);
            BOOST_TEST(fits.res.headers.find("X-Long").value_or("").size() == longest - 10);
            BOOST_TEST(fits.res.body == "ok");

            auto over = fetch("/long-header/" + std::to_string(longest + 1), cap);
            BOOST_TEST(over.ec == make_error_code(errc::headers_too_large),
                       over.ec.message() << ": " << over.res.error_message);
            BOOST_TEST(over.ec != boost::system::errc::not_enough_memory);
            BOOST_TEST(over.res.error_message.find("102399") != std::string::npos, over.res.error_message);
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
            BOOST_TEST(over.res.error_message.find("307200") != std::string::npos, over.res.error_message);
        }
    }
    // Under it, the default cap is ours, counted the same way.
    const std::size_t cap = request{}.options.limits.max_header_size;
    BOOST_TEST(!fetch("/many-headers/" + std::to_string(cap)).ec);
    BOOST_TEST(fetch("/many-headers/" + std::to_string(cap + 1)).ec ==
               make_error_code(errc::headers_too_large));
}

// libcurl 8 also stops at MAX_HTTP_RESP_HEADER_COUNT header fields per
// transfer (5000; checked on 8.14.1), however small; 7.88.1 has no such
// limit. Also
// errc::headers_too_large, the message naming it.
BOOST_AUTO_TEST_CASE(libcurl_8_limits_the_header_fields_of_a_transfer) {
    // 4900 of ours and the server's few: under both.
    auto fits = fetch("/headers/4900", 0);
    BOOST_TEST(!fits.ec, fits.ec.message() << ": " << fits.res.error_message);
    BOOST_TEST(fits.res.headers.find("X-Header-4900").value_or("") == "value-4900");
    auto many = fetch("/headers/5000", 0);
    if (curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000) {
        BOOST_TEST(many.ec == make_error_code(errc::headers_too_large),
                   many.ec.message() << ": " << many.res.error_message);
        BOOST_TEST(many.res.error_message.find("header fields") != std::string::npos, many.res.error_message);
        BOOST_TEST(many.res.error_message.find("5000") != std::string::npos, many.res.error_message);
    } else {
        BOOST_TEST(!many.ec, many.ec.message() << ": " << many.res.error_message);
        BOOST_TEST(many.res.headers.find("X-Header-5000").value_or("") == "value-5000");
    }
    BOOST_TEST(!fetch("/hello").ec);
}

// ---- request heads ----------------------------------------------------------------------

// libcurl 7.88 builds a request head in one buffer of 1 MiB (DYN_HTTP_REQUEST)
// that also holds a NUL and, over HTTP/1, a body under 64 KiB; a longer one
// failed as CURLE_OUT_OF_MEMORY. curlasio refuses it before sending.
BOOST_AUTO_TEST_CASE(an_over_long_url_header_or_user_agent_is_refused_before_sending) {
    const std::string mib(1 << 20, 'x');
    request url(server.url("/hello?" + mib));
    request header(server.url("/hello"));
    header.add_header("X-Big", mib);
    request agent(server.url("/hello"));
    agent.options.user_agent = mib;
    // Half a MiB of header fields and half a MiB of URL: together too much.
    request both(server.url("/hello?" + mib.substr(0, mib.size() / 2)));
    both.add_header("X-Half", mib.substr(0, mib.size() / 2));
    const auto seen = server.requests_seen();
    for (const request* req : {&url, &header, &agent, &both}) {
        auto out = fetch_sync(io, eng, *req);
        BOOST_TEST(out.ec == make_error_code(errc::request_too_large), out.ec.message()
                                                                           << ": " << out.res.error_message);
        BOOST_TEST(out.res.error_message.find("1 MiB") != std::string::npos, out.res.error_message);
    }
    BOOST_TEST(server.requests_seen() == seen);
    BOOST_TEST(!fetch("/hello").ec);
}

namespace {

// What libcurl says when its request buffer overflows: CURLE_OUT_OF_MEMORY
// in 7.88, CURLE_TOO_LARGE (100, no name in 7.88's headers) from 8.6.0 on.
boost::system::error_code libcurl_too_large() {
    return make_error_code(curl_version_info(CURLVERSION_NOW)->version_num >= 0x080600
                               ? static_cast<CURLcode>(100)
                               : CURLE_OUT_OF_MEMORY);
}

// The largest n in [0, 1 MiB] for which `ok(n)` holds, assuming it holds
// for smaller ones and not for larger ones.
template <typename Pred>
std::size_t largest_where(Pred ok) {
    std::size_t good = 0, bad = std::size_t{1} << 20;
    while (bad - good > 1) {
        const std::size_t mid = good + (bad - good) / 2;
        (ok(mid) ? good : bad) = mid;
    }
    return good;
}

// Header lines "X-Big-<i>: hhh" with n bytes of values in all, none over
// 50000 (Beast, under the test server, refuses a field over 64 KiB).
std::vector<std::string> big_fields(std::size_t n) {
    std::vector<std::string> lines;
    for (std::size_t i = 0; n > 0 || lines.empty(); ++i) {
        const std::size_t part = std::min<std::size_t>(n, 50000);
        lines.push_back("X-Big-" + std::to_string(i) + ": " + std::string(part, 'h'));
        n -= part;
    }
    return lines;
}

} // namespace

// What curlasio lets through libcurl sends, and it refuses at most a little
// short of libcurl's real limit, which the escape hatch (header lines given
// straight to CURLOPT_HTTPHEADER, which curlasio cannot check) still meets as
// CURLE_OUT_OF_MEMORY (7.88) or CURLE_TOO_LARGE (8.6.0 on). Also with a body, which libcurl puts in the same
// buffer over HTTP/1 when it is under 64 KiB.
BOOST_AUTO_TEST_CASE(the_request_head_limit_is_libcurls_less_a_small_margin) {
    for (std::size_t body_size : {std::size_t{0}, std::size_t{60} << 10, std::size_t{70} << 10}) {
        BOOST_TEST_CONTEXT("body of " << body_size << " bytes") {
            const std::string body(body_size, 'b');
            const curlasio::method method = body_size ? verb::post : verb::get;
            const std::size_t ours = largest_where([&](std::size_t n) {
                request req(server.url("/hello"), method);
                req.body = body;
                for (const std::string& line : big_fields(n)) {
                    const auto colon = line.find(':');
                    req.add_header(line.substr(0, colon), line.substr(colon + 2));
                }
                auto out = fetch_sync(io, eng, req);
                if (out.ec == make_error_code(errc::request_too_large))
                    return false;
                BOOST_TEST(!out.ec, n << ": " << out.ec.message() << ": " << out.res.error_message);
                BOOST_TEST(out.res.body == "hello world");
                return true;
            });
            const std::size_t libcurls = largest_where([&](std::size_t n) {
                curl_slist* list = curl_slist_append(nullptr, "Expect:");
                for (const std::string& line : big_fields(n))
                    list = curl_slist_append(list, line.c_str());
                request req(server.url("/hello"), method);
                req.body = body;
                req.set_option(CURLOPT_HTTPHEADER, list);
                auto out = fetch_sync(io, eng, req);
                curl_slist_free_all(list);
                if (out.ec == libcurl_too_large())
                    return false;
                BOOST_TEST(!out.ec, n << ": " << out.ec.message() << ": " << out.res.error_message);
                return true;
            });
            BOOST_TEST_MESSAGE("body of " << body_size << " bytes: header values of " << ours
                                          << " bytes sent, libcurl's own limit " << libcurls);
            BOOST_TEST(ours <= libcurls);
            BOOST_TEST(ours + 1024 > libcurls);
        }
    }
}

// ---- malformed requests ---------------------------------------------------------------

// The refusal names the field and the reason, not always "CR, LF or NUL",
// and still compares equal to errc::invalid_request.
BOOST_AUTO_TEST_CASE(a_malformed_request_says_which_field_and_why) {
    request spaced(server.url("/hello"));
    spaced.method = "GET /admin";
    request json(server.url("/hello")); // a body where the method goes
    json.method = R"({"k":1})";
    request colon(server.url("/hello"));
    colon.add_header("X-A:B", "v");
    request value(server.url("/hello"));
    value.add_header("X-A", "v\r\nX-Injected: 1");
    request agent(server.url("/hello"));
    agent.options.user_agent = "agent\n";
    const auto seen = server.requests_seen();
    for (const request* req : {&spaced, &json, &colon, &value, &agent}) {
        BOOST_TEST_CONTEXT(req->why_malformed()) {
            auto out = fetch_sync(io, eng, *req);
            BOOST_TEST(out.ec == make_error_code(errc::invalid_request));
            BOOST_TEST((out.ec == errc::invalid_request));
            BOOST_TEST((out.ec.category() == curlasio_category()));
            BOOST_TEST(out.res.error_message.rfind("invalid request: ", 0) == 0u, out.res.error_message);
            BOOST_TEST(out.res.error_message.find(req->why_malformed()) != std::string::npos,
                       out.res.error_message);
        }
    }
    BOOST_TEST(server.requests_seen() == seen);
    BOOST_TEST(fetch_sync(io, eng, spaced).res.error_message.find("the method holds a space") !=
               std::string::npos);
    BOOST_TEST(fetch_sync(io, eng, colon).res.error_message.find("a header name holds ':'") !=
               std::string::npos);
    BOOST_TEST(fetch_sync(io, eng, json).res.error_message.find("not an RFC 9110 token") !=
               std::string::npos);
}

// ---- through a proxy --------------------------------------------------------------------

// libcurl hands the proxy's answer to CONNECT to the header callback like
// any head; it is not the origin's. A tunnel opened (200) to an origin whose
// certificate is refused got no response at all: status 0, no fields; the
// proxy's answer is connect_status.
BOOST_AUTO_TEST_CASE(a_tunnel_whose_tls_handshake_fails_has_no_status) {
    const pki certs = make_test_pki();
    test_server origin{server_options{true, certs.cert_file, certs.key_file}};
    peer_process proxy = tinyproxy(certs.dir);
    CURLASIO_REQUIRE_PEER(proxy, "tinyproxy");
    request req(origin.url("/hello"));
    req.options.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    // The system store does not know the test CA.
    auto refused = fetch_sync(io, eng, req);
    BOOST_TEST(refused.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
    BOOST_TEST(refused.res.status == 0);
    BOOST_TEST(refused.res.reason.empty());
    BOOST_TEST(refused.res.headers.empty());
    BOOST_TEST(refused.res.connect_status == 200);
    BOOST_TEST(origin.requests_seen() == 0u);

    // Trusted: the status and fields are the origin's only.
    req.options.tls.ca_file = certs.ca_file;
    auto ok = fetch_sync(io, eng, req);
    BOOST_TEST(!ok.ec, ok.ec.message() << ": " << ok.res.error_message);
    BOOST_TEST(ok.res.status == 200);
    BOOST_TEST(ok.res.reason == "OK");
    BOOST_TEST(ok.res.headers.find("Server").value_or("") == "curlasio-test");
    BOOST_TEST(ok.res.headers.find_all("Server").size() == 1u);
    BOOST_TEST(ok.res.body == "hello world");
    BOOST_TEST(ok.res.connect_status == 200);

    // A tunnel the proxy cannot open: no response from an origin either.
    request nowhere("https://127.0.0.1:" + std::to_string(free_loopback_port()) + "/");
    nowhere.options.proxy = req.options.proxy;
    auto failed = fetch_sync(io, eng, nowhere);
    BOOST_TEST(failed.ec == make_error_code(CURLE_RECV_ERROR));
    BOOST_TEST(failed.res.status == 0);
    BOOST_TEST(failed.res.headers.empty());
    BOOST_TEST(failed.res.connect_status >= 400); // tinyproxy says 500
}

// ---- HTTP/2 with prior knowledge -------------------------------------------------------

namespace {

// Debian's nghttpd (nghttp2-server) serving `docroot`: over TLS with the
// test PKI's certificate when `tls` is set, else cleartext HTTP/2 (h2c).
peer_process nghttpd(const pki& certs, bool tls) {
    return peer_process("/usr/sbin/nghttpd", [&](unsigned short port) {
        std::vector<std::string> args{"-a", "127.0.0.1", "-d", certs.dir, std::to_string(port)};
        if (tls) {
            args.push_back(certs.key_file);
            args.push_back(certs.cert_file);
        } else {
            args.insert(args.begin(), "--no-tls");
        }
        return args;
    });
}

request prior_knowledge(const std::string& url) {
    request req(url);
    req.options.version = http_version::http2_prior_knowledge;
    return req;
}

// curl #10634, fixed in 8.0.0.
bool h2c_reuse_broken() { return curl_version_info(CURLVERSION_NOW)->version_num < 0x080000; }

} // namespace

// libcurl 7.88 (curl #10634, fixed in 8.0.0) stacks a second HTTP/2 layer on
// a reused cleartext connection made with prior knowledge: every request on
// it after the first failed at once with CURLE_HTTP2. curlasio gives each
// such request a connection of its own there, and only there: from 8.0.0 on
// they share one, as over TLS.
BOOST_AUTO_TEST_CASE(prior_knowledge_over_cleartext_serves_every_request) {
    const pki certs = make_test_pki();
    std::ofstream(certs.dir + "/hello") << "hello world";
    peer_process server = nghttpd(certs, false);
    CURLASIO_REQUIRE_PEER(server, "nghttp2-server");
    request req = prior_knowledge("http://127.0.0.1:" + std::to_string(server.port()) + "/hello");
    req.options.connection.wait_for_multiplex = true;
    for (int i = 0; i < 5; ++i) {
        BOOST_TEST_CONTEXT("fetch " << i) {
            auto out = fetch_sync(io, eng, req);
            BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
            BOOST_TEST(out.res.status == 200);
            BOOST_TEST(out.res.version == 20);
            BOOST_TEST(out.res.body == "hello world");
        }
    }
    // 7.88: none is kept for a later request to stumble on; 8: the one
    // connection served them all and is kept.
    const std::size_t kept = h2c_reuse_broken() ? 0 : 1;
    BOOST_TEST(eventually([&] { return connections_to(server.port()) == kept; }),
               connections_to(server.port())
                   << " connections, libcurl " << curl_version_info(CURLVERSION_NOW)->version);
    std::vector<probe> probes(5);
    for (auto& p : probes)
        async_fetch(eng, req, probe_handler(p));
    BOOST_TEST(run_until(io, [&] {
        return std::all_of(probes.begin(), probes.end(), [](const probe& p) { return p.calls > 0; });
    }));
    for (const probe& p : probes) {
        BOOST_TEST(!p.ec, p.ec.message() << ": " << p.res.error_message);
        BOOST_TEST(p.res.version == 20);
    }
    // 8: multiplexed on the kept connection.
    BOOST_TEST(eventually([&] { return connections_to(server.port()) == kept; }));
}

// The counterpart: with the fresh connection undone through the escape
// hatch, the bug is there before libcurl 8.0.0, and gone from it on.
BOOST_AUTO_TEST_CASE(reusing_a_prior_knowledge_cleartext_connection_fails_before_libcurl_8) {
    const pki certs = make_test_pki();
    std::ofstream(certs.dir + "/hello") << "hello world";
    peer_process server = nghttpd(certs, false);
    CURLASIO_REQUIRE_PEER(server, "nghttp2-server");
    request req = prior_knowledge("http://127.0.0.1:" + std::to_string(server.port()) + "/hello");
    req.set_option(CURLOPT_FRESH_CONNECT, 0L).set_option(CURLOPT_FORBID_REUSE, 0L);
    BOOST_TEST(!fetch_sync(io, eng, req).ec);
    const auto second = fetch_sync(io, eng, req);
    if (h2c_reuse_broken()) {
        BOOST_TEST(second.ec == make_error_code(CURLE_HTTP2), second.ec.message());
    } else {
        BOOST_TEST(!second.ec, second.ec.message() << ": " << second.res.error_message);
        BOOST_TEST(second.res.body == "hello world");
        BOOST_TEST(connections_to(server.port()) == 1u);
    }
}

// Over TLS, ALPN settles the protocol on every connection, and libcurl
// reuses one correctly: no fresh connection there.
BOOST_AUTO_TEST_CASE(prior_knowledge_over_tls_reuses_one_connection) {
    const pki certs = make_test_pki();
    std::ofstream(certs.dir + "/hello") << "hello world";
    peer_process server = nghttpd(certs, true);
    CURLASIO_REQUIRE_PEER(server, "nghttp2-server");
    request req = prior_knowledge("https://127.0.0.1:" + std::to_string(server.port()) + "/hello");
    req.options.tls.ca_file = certs.ca_file;
    for (int i = 0; i < 5; ++i) {
        auto out = fetch_sync(io, eng, req);
        BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
        BOOST_TEST(out.res.version == 20);
    }
    BOOST_TEST(connections_to(server.port()) == 1u);
}

// ---- what the secure defaults do not cover ---------------------------------------------

// Documented behaviour, pinned: libcurl 7.88 sends CURLOPT_COOKIE with every
// request of a transfer, to whatever host a redirect leads, and has no
// option to keep it to the first one (a Cookie header it does keep there).
// request::set_option says so, and points to add_header("Cookie", ...).
BOOST_AUTO_TEST_CASE(curlopt_cookie_is_forwarded_to_another_host_as_documented) {
    test_server other;
    const std::string via = "/redirect-to?url=" + encode(other.url("/echo"));
    request opt(server.url(via));
    opt.options.redirects.follow = true;
    opt.set_option(CURLOPT_COOKIE, "session=secret");
    auto out = fetch_sync(io, eng, opt);
    BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
    BOOST_TEST(out.res.effective_url == other.url("/echo"));
    BOOST_TEST(out.res.headers.find("X-Echo-Cookie").value_or("") == "session=secret");

    // The documented alternative stays with the first host.
    request header(server.url(via));
    header.options.redirects.follow = true;
    header.add_header("Cookie", "session=secret");
    auto kept = fetch_sync(io, eng, header);
    BOOST_TEST(!kept.ec);
    BOOST_TEST(kept.res.effective_url == other.url("/echo"));
    BOOST_TEST(!kept.res.headers.contains("X-Echo-Cookie"));
}

BOOST_AUTO_TEST_SUITE_END()
