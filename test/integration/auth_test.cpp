// Authentication as request options (options.auth), against the in-process
// server's /echo, which shows what arrived: what is sent, to whom, and what
// is refused before anything is.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/test/unit_test.hpp>

#include <cctype>
#include <cstdio>
#include <string>
#include <utility>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;

namespace {

struct fixture {
    test_server first;
    test_server second; // another port: another origin
    asio::io_context io;
    engine eng{io};

    static request basic(const std::string& url) {
        request req(url);
        req.options.auth = {.username = "user", .password = "pass"};
        return req;
    }
    static request bearer(const std::string& url) {
        request req(url);
        req.options.auth = {.bearer_token = "t0k3n"};
        return req;
    }
    // first's /redirect-to, sending the client to `target`.
    std::string redirect_to(const std::string& target) const {
        std::string enc;
        for (char c : target) {
            if (std::isalnum(static_cast<unsigned char>(c)))
                enc += c;
            else {
                char hex[4];
                std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
                enc += hex;
            }
        }
        return first.url("/redirect-to?url=" + enc);
    }
};

std::string authorization(const outcome& out) {
    return std::string(out.res.headers.find("X-Echo-Authorization").value_or("<none>"));
}

// Evaluates its argument once (it may be a fetch).
#define REQUIRE_OK(outcome_expr)                                                                             \
    do {                                                                                                     \
        const auto& required_ = (outcome_expr);                                                              \
        BOOST_TEST_REQUIRE(!required_.ec, required_.ec.message() << ": " << required_.res.error_message);    \
    } while (false)

} // namespace

BOOST_FIXTURE_TEST_SUITE(auth, fixture)

BOOST_AUTO_TEST_CASE(basic_and_bearer_are_sent) {
    auto b = fetch_sync(io, eng, basic(first.url("/echo")));
    REQUIRE_OK(b);
    BOOST_TEST(authorization(b) == "Basic dXNlcjpwYXNz"); // user:pass

    auto t = fetch_sync(io, eng, bearer(first.url("/echo")));
    REQUIRE_OK(t);
    BOOST_TEST(authorization(t) == "Bearer t0k3n");

    // The scheme may be named; an explicit scheme without its credential sends nothing.
    request named(first.url("/echo"));
    named.options.auth = {.scheme = auth_scheme::basic, .username = "u", .password = ""};
    BOOST_TEST(authorization(fetch_sync(io, eng, named)) == "Basic dTo="); // "u:"
    request no_token(first.url("/echo"));
    no_token.options.auth = {.scheme = auth_scheme::bearer, .username = "u"};
    BOOST_TEST(authorization(fetch_sync(io, eng, no_token)) == "<none>");

    // Digest and any wait for a challenge: the server asked for none.
    request digest(first.url("/echo"));
    digest.options.auth = {.scheme = auth_scheme::digest, .username = "u", .password = "p"};
    auto d = fetch_sync(io, eng, digest);
    REQUIRE_OK(d);
    BOOST_TEST(authorization(d) == "<none>");

    // Nothing set, nothing sent; and handles reused from the requests above
    // carry nothing over (curl_easy_reset clears the credentials).
    BOOST_TEST(authorization(fetch_sync(io, eng, request(first.url("/echo")))) == "<none>");
}

// Basic, digest and bearer travel with each request, so a connection they
// used stays reusable for any other request, with other credentials or none:
// each carries its own, or none, on the one connection. (Connection-bound
// authentication is kept off reused connections: proxy_peers' tunnel case.)
BOOST_AUTO_TEST_CASE(per_request_credentials_share_a_connection_but_never_carry_over) {
    const std::pair<request, std::string> sequence[] = {
        {basic(first.url("/echo")), "Basic dXNlcjpwYXNz"}, {request(first.url("/echo")), "<none>"},
        {bearer(first.url("/echo")), "Bearer t0k3n"},      {request(first.url("/echo")), "<none>"},
        {basic(first.url("/echo")), "Basic dXNlcjpwYXNz"},
    };
    for (const auto& [req, sent] : sequence) {
        auto out = fetch_sync(io, eng, req);
        REQUIRE_OK(out);
        BOOST_TEST(authorization(out) == sent);
    }
    BOOST_TEST(first.connections_accepted() == 1u);
}

BOOST_AUTO_TEST_CASE(credentials_stay_with_their_origin_across_redirects) {
    for (bool use_bearer : {false, true}) {
        BOOST_TEST_CONTEXT((use_bearer ? "bearer" : "basic")) {
            auto make = [&](const std::string& url) {
                request req = use_bearer ? bearer(url) : basic(url);
                req.options.redirects.follow = true;
                return req;
            };
            // Within the origin they follow the redirect...
            auto same = fetch_sync(io, eng, make(redirect_to("/echo")));
            REQUIRE_OK(same);
            BOOST_TEST(same.res.redirect_count == 1);
            BOOST_TEST(authorization(same) != "<none>");

            // ... to another port they do not: the second server sees none.
            auto other = fetch_sync(io, eng, make(redirect_to(second.url("/echo"))));
            REQUIRE_OK(other);
            BOOST_TEST(other.res.redirect_count == 1);
            BOOST_TEST(other.res.effective_url == second.url("/echo"));
            BOOST_TEST(authorization(other) == "<none>");
        }
    }
    // The second server did get the requests.
    BOOST_TEST(second.requests_seen() == 2u);
}

BOOST_AUTO_TEST_CASE(credentials_with_line_breaks_are_refused) {
    request token = bearer(first.url("/echo"));
    token.options.auth.bearer_token = "t0k3n\r\nX-Injected: 1";
    BOOST_TEST(!token.is_well_formed());
    auto out = fetch_sync(io, eng, token);
    BOOST_TEST(out.ec == make_error_code(errc::invalid_request));
    BOOST_TEST(out.res.error_message.find("bearer token") != std::string::npos, out.res.error_message);

    request user = basic(first.url("/echo"));
    user.options.auth.scheme = auth_scheme::digest;
    user.options.auth.username = std::string("us\0er", 5);
    BOOST_TEST(fetch_sync(io, eng, user).ec == make_error_code(errc::invalid_request));

    request proxy_user(first.url("/echo"));
    proxy_user.options.proxy = {.url = "http://127.0.0.1:9", .username = "u\n", .password = "p"};
    BOOST_TEST(fetch_sync(io, eng, proxy_user).ec == make_error_code(errc::invalid_request));
    BOOST_TEST(first.requests_seen() == 0u);
}

BOOST_AUTO_TEST_CASE(credentials_count_against_the_request_head_bound) {
    // libcurl's request buffer is 1 MiB: a token, or a password (base64
    // grows it by a third), that would not fit is refused before sending.
    request token = bearer(first.url("/echo"));
    token.options.auth.bearer_token.assign(1024 * 1024, 'a');
    BOOST_TEST(fetch_sync(io, eng, token).ec == make_error_code(errc::request_too_large));

    request password = basic(first.url("/echo"));
    password.options.auth.password.assign(800 * 1024, 'a'); // about 1.04 MiB in base64
    BOOST_TEST(fetch_sync(io, eng, password).ec == make_error_code(errc::request_too_large));

    request proxy(first.url("/echo"));
    proxy.options.proxy = {.url = "http://127.0.0.1:9", .username = "u"};
    proxy.options.proxy.password.assign(800 * 1024, 'a');
    BOOST_TEST(fetch_sync(io, eng, proxy).ec == make_error_code(errc::request_too_large));
    BOOST_TEST(first.requests_seen() == 0u);

    // One that fits goes out (the test server, Beast, takes field values up
    // to 64 KiB).
    request fits = bearer(first.url("/echo"));
    fits.options.auth.bearer_token.assign(60 * 1024, 'a');
    auto out = fetch_sync(io, eng, fits);
    REQUIRE_OK(out);
    BOOST_TEST(authorization(out).size() == 60 * 1024 + 7);
}

BOOST_AUTO_TEST_SUITE_END()
